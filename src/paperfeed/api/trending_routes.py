"""Trending scores and their explanation over the JSON API (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
