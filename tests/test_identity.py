"""Face identity (dlib's ResNet descriptor) on real faces: two people apart, one person together."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap import identity
from faceswap.errors import FaceswapError
from faceswap.video import FrameReader


@pytest.fixture(scope="module")
def embedder(needs_identity):
    return identity.FaceEmbedder()


def _embeddings(path, embedder, frames=8, step=20):
    from faceswap.extract.detect import Detector

    detector = Detector(device="cpu")
    images = [f.image for i, f in zip(range(frames * step), FrameReader(path)) if i % step == 0]
    found = detector.detect(images)
    return np.stack([embedder.embed(img, faces.boxes[:1])[0] for img, faces in zip(images, found) if len(faces)])


def test_separates_two_real_people_and_keeps_one_together(faces_dir, embedder):
    d6, d10 = _embeddings(faces_dir / "d6.mp4", embedder), _embeddings(faces_dir / "d10.mp4", embedder)
    assert len(d6) >= 6 and len(d10) >= 6
    same = identity.distances(d6, d6.mean(0))
    other = identity.distances(d6, d10.mean(0))
    assert same.max() < identity.THRESHOLD, same
    assert other.min() > identity.THRESHOLD, other
    assert np.median(other) - np.median(same) > 0.25


def test_aligned_crops_embed_like_frames(faces_dir, embedder, tmp_path):
    """A faceset's aligned crops (with its coverage) land near the same person's frames."""
    from faceswap.extract import extract
    from faceswap.extract.faceset import faceset_reference
    from faceswap.video import cut_clip

    clip = tmp_path / "b.mp4"
    cut_clip(faces_dir / "d10.mp4", clip, 20)
    extract(clip, tmp_path / "faces", progress=False)
    ref = faceset_reference(tmp_path / "faces", embedder)
    frames = _embeddings(faces_dir / "d10.mp4", embedder, frames=4)
    assert identity.distances(frames, ref).max() < 0.45


def test_missing_extra_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.setattr(identity, "available", lambda: False)
    with pytest.raises(FaceswapError, match=r"pip install \"faceswap\[identity\]\""):
        identity.require("evaluate's identity score")
