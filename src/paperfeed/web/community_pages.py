"""Submissions, votes, comments, collections and profiles (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
