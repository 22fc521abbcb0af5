"""Shared fixtures. Real data lives in ../shared beside the checkout: tests that
need it skip on a user's machine but FAIL under CI (env CI set), so a wrong path
can never silently hide a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

# Two cores: keep torch from oversubscribing them when tests run.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def _shared(sub: str) -> Path:
    path = SHARED / sub
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must see ../shared/data (CI is set, so this is not skipped)")
        pytest.skip(f"{path} not present (only in the development checkout)")
    return path


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/data/faces: real talking-head clips (d6, d9, d10, d20, s18, s32)."""
    return _shared("faces")


@pytest.fixture(scope="session")
def banknote_csv() -> Path:
    """../shared/data/banknote/data_banknote_authentication.csv (UCI banknote)."""
    return _shared("banknote") / "data_banknote_authentication.csv"
