"""Accounts, sessions, submissions, votes, comments and collections."""
