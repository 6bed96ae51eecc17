"""Accounts, apart from community content: users (argon2id, verification, reset), login sessions, API
tokens with scopes, and the database-backed rate limits every node shares."""
