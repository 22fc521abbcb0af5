"""Faceset loading (errors are one clear line) and deterministic batches."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from faceswap.errors import FaceswapError
from faceswap.train.data import SwapBatches, load_faces

from .conftest import make_faceset


def test_load_resizes_and_reads_landmarks(tmp_path):
    fs = load_faces(make_faceset(tmp_path / "a", n=3, size=32), 16)
    assert fs.images.shape == (3, 16, 16, 3) and fs.images.dtype == torch.uint8
    assert fs.landmarks.shape == (3, 5, 2) and abs(float(fs.landmarks[0, 0, 0]) - 0.35) < 1e-5
    plain = load_faces(make_faceset(tmp_path / "p", n=2, size=16, alignments=False), 16)
    assert len(plain) == 2 and plain.landmarks is None


def _one_line(err):
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_missing_and_empty(tmp_path):
    with pytest.raises(FaceswapError) as e:
        load_faces(tmp_path / "nope", 16)
    assert "not found" in _one_line(e)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FaceswapError) as e:
        load_faces(tmp_path / "empty", 16)
    assert "empty" in _one_line(e) and str(tmp_path / "empty") in str(e.value)


def test_other_resolution_and_mixed_sizes(tmp_path):
    small = make_faceset(tmp_path / "s", n=2, size=16)
    with pytest.raises(FaceswapError) as e:
        load_faces(small, 32)
    assert "16 px" in _one_line(e) and "32 px" in str(e.value)
    mixed = make_faceset(tmp_path / "m", n=2, size=32, alignments=False)
    cv2.imwrite(str(mixed / "000009_0.png"), np.zeros((24, 24, 3), np.uint8))
    with pytest.raises(FaceswapError) as e:
        load_faces(mixed, 16)
    assert "differs from the other faces" in _one_line(e)


def test_batches_are_a_function_of_step(tmp_path):
    fa, fb = load_faces(make_faceset(tmp_path / "a"), 16), load_faces(make_faceset(tmp_path / "b", hue=50), 16)
    b = SwapBatches(fa, fb, 3, 16, seed=1)
    one, again, other = b(5), b(5), b(6)
    assert set(one) == {"a_in", "a_target", "b_in", "b_target"} and one["a_in"].shape == (3, 3, 16, 16)
    assert all(torch.equal(one[k], again[k]) for k in one)
    assert not torch.equal(one["a_in"], other["a_in"])
    r1 = SwapBatches(fa, fb, 3, 16, seed=1, rank=1)(5)
    assert not torch.equal(one["a_in"], r1["a_in"])
