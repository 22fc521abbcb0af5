"""`faceswap demo` with the shipped weights: the newcomer's first minute."""

from __future__ import annotations

import av
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


@pytest.mark.skipif(not (DEMO_MODEL / "model.safetensors").exists(), reason="weights/demo not present")
def test_demo_swaps_hopper_onto_collins(tmp_path, needs_identity):
    result = demo(tmp_path / "out", progress=False)
    assert result.swapped.exists() and result.picture.exists()
    src, out = probe(tmp_path / "out" / "clips" / "a.mp4"), probe(result.swapped)
    assert (out.frame_count, out.fps, out.width, out.height) == (src.frame_count, src.fps, src.width, src.height)
    assert out.has_audio
    with av.open(str(result.swapped)) as c:
        assert c.metadata["synthetic_media"] == "true"
    picture = read_image(result.picture)
    assert picture.shape[1] > 2 * src.width

    # A face-recognition model (dlib's ResNet) finds Hopper in the swapped frames:
    # every sampled swapped face lies nearer Hopper's faces than Collins' own.
    from faceswap import identity
    from faceswap.extract.detect import Detector
    from faceswap.extract.faceset import faceset_reference

    embedder = identity.FaceEmbedder()
    collins = faceset_reference(tmp_path / "out" / "faces" / "a", embedder)
    hopper = faceset_reference(tmp_path / "out" / "faces" / "b", embedder)
    frames = [f.image for f in FrameReader(result.swapped) if f.index % 5 == 0]
    found = Detector(device="cpu").detect(frames)
    faces = np.stack([embedder.embed(img, f.boxes[:1])[0] for img, f in zip(frames, found) if len(f)])
    assert len(faces) >= 0.9 * len(frames)
    to_hopper, to_collins = identity.distances(faces, hopper), identity.distances(faces, collins)
    assert (to_hopper < to_collins).all(), (to_hopper, to_collins)
