"""Operations: liveness and readiness checks, database backups and restores."""
