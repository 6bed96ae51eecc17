"""/api/papers/search and /api/papers/{id}/similar (issue 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
