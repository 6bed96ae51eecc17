"""The request layer that web/ (pages) and api/ (JSON) share; neither imports the other.

- deps.py: the settings, sessions, search service and paper lookups a route depends on; id types
- auth.py: who is asking (cookie session or bearer token) and what they may do
- csrf.py: the signed double-submit CSRF token for forms and our own script's writes
- limits.py: spending a per-user quota before a costly write
- errors.py: one handler per error family (UserError, HTTPException, validation) answering a page or JSON
"""
