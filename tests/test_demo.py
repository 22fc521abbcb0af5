"""`faceswap demo` with the shipped weights: the newcomer's first minute."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest

from faceswap.demo import DEMO_MODEL, animate, demo, public_domain_faces
from faceswap.video import FrameReader, probe, read_image

pytest.importorskip("skimage")


def test_animation_moves_smoothly():
    face = public_domain_faces(128)["a"]
    frames = animate(face, 75, seed=0).astype(np.float32)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert frames.shape == (75, 128, 128, 3)
    assert steps.min() > 0.1  # it moves every frame
    assert steps.max() < 3 * np.median(steps)  # and never jumps


def _inner_face(image, matrix, crop_size, size=128):
    """The aligned crop's central part (eyes to mouth), grey, zero-mean, unit-norm."""
    crop = cv2.warpAffine(image, np.asarray(matrix, np.float64) * (size / crop_size), (size, size))
    inner = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[size // 4: 3 * size // 4, size // 4: 3 * size // 4].astype(np.float64)
    inner -= inner.mean()
    return inner / np.linalg.norm(inner)


@pytest.mark.skipif(not (DEMO_MODEL / "model.safetensors").exists(), reason="weights/demo not present")
def test_demo_swaps_hopper_onto_collins(tmp_path):
    result = demo(tmp_path / "out", progress=False)
    assert result.swapped.exists() and result.picture.exists()
    src, out = probe(tmp_path / "out" / "clips" / "a.mp4"), probe(result.swapped)
    assert (out.frame_count, out.fps, out.width, out.height) == (src.frame_count, src.fps, src.width, src.height)
    assert out.has_audio
    with av.open(str(result.swapped)) as c:
        assert c.metadata["synthetic_media"] == "true"
    picture = read_image(result.picture)
    assert picture.shape[1] > 2 * src.width

    # The swapped face looks more like Hopper's than like Collins' own face in that frame.
    align_a = json.loads((tmp_path / "out" / "faces" / "a" / "alignments.json").read_text())
    align_b = json.loads((tmp_path / "out" / "faces" / "b" / "alignments.json").read_text())
    mid = sorted(align_a["frames"], key=int)[len(align_a["frames"]) // 2]
    face = align_a["frames"][mid][0]
    original = [f.image for f in FrameReader(tmp_path / "out" / "clips" / "a.mp4") if f.index == int(mid)][0]
    swapped = [f.image for f in FrameReader(result.swapped) if f.index == int(mid)][0]
    hopper_face = align_b["frames"][mid][0]
    hopper = [f.image for f in FrameReader(tmp_path / "out" / "clips" / "b.mp4") if f.index == int(mid)][0]
    n = align_a["size"]
    s = _inner_face(swapped, face["matrix"], n)
    to_collins = float((s * _inner_face(original, face["matrix"], n)).sum())
    to_hopper = float((s * _inner_face(hopper, hopper_face["matrix"], n)).sum())
    assert to_hopper > to_collins, (to_hopper, to_collins)
