"""The trending page with day/week/month tabs (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
