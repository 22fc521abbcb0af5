"""Shared fixtures. Real data lives in ../shared beside the checkout: tests that
need it skip on a user's machine but FAIL under CI (env CI set), so a wrong path
can never silently hide a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _one_thread():
    """Test models are tiny: a second torch thread only adds sync overhead, and
    on a busy 2-core machine it made small steps 5-20x slower (measured)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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


@pytest.fixture(scope="session")
def needs_identity():
    """The identity extra (dlib): skipped where it is not installed, but a failure under CI."""
    from faceswap import identity

    if not identity.available():
        if os.environ.get("CI"):
            pytest.fail("the identity extra (dlib-bin, face-recognition-models) must be installed under CI")
        pytest.skip("identity extra not installed")
