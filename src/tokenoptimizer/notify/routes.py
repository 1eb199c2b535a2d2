"""HTTP routes of this capability (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
