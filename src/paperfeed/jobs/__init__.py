"""Background jobs on huey (SQLite storage by default, Redis in production)."""
