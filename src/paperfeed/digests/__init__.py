"""Subscriptions and email digests: selection, rendering, the send ledger."""
