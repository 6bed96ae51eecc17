"""Search page and saved-search feeds (issue 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
