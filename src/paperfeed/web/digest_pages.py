"""Subscribe, confirm, preferences, unsubscribe and the demo outbox (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
