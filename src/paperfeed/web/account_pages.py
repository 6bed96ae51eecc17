"""Sign up, verify, log in/out, password reset, account settings (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
