"""Shipped models by name (faceswap.weights): a name from any folder, a path as given, one line otherwise."""

from __future__ import annotations

import pytest

from faceswap import weights
from faceswap.errors import FaceswapError


def test_names_resolve_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"demo", "prior", "prior128"} <= set(weights.names())
    assert (weights.model_path("prior128") / "config.json").is_file()
    assert weights.shipped("demo") == weights.model_path("demo")


def test_a_path_wins_and_wrong_names_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prior128").mkdir()
    assert weights.model_path("prior128") == tmp_path.joinpath("prior128").relative_to(tmp_path)
    with pytest.raises(FaceswapError, match=r"^--init prior256: no such folder.*shipped: demo, prior, prior128\)$"):
        weights.model_path("prior256")
    with pytest.raises(FaceswapError, match="the shipped model is named --init prior"):
        weights.model_path("weights/prior")
    with pytest.raises(FaceswapError, match="not a shipped model"):
        weights.shipped("nope")
