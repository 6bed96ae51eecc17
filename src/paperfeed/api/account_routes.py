"""API tokens and the signed-in user over the JSON API (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
