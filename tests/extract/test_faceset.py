"""alignments.json and load_faceset (no data needed)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from faceswap.errors import FaceswapError
from faceswap.extract.align import align, template_points
from faceswap.extract.faceset import Alignments, face_file, load_faceset


def _faceset(folder, frames=3, size=64):
    rng = np.random.default_rng(0)
    al = Alignments(source="/x/a.mp4", width=200, height=100, fps=25.0, frame_count=frames, size=size, coverage=0.75)
    for k in range(frames):
        image = rng.integers(0, 255, (100, 200, 3), dtype=np.uint8)
        landmarks = template_points(60, 1.0) + [40 + k, 10]
        crop, matrix = align(image, landmarks, size, 0.75)
        name = face_file(k, 0)
        cv2.imwrite(str(folder / name), crop[:, :, ::-1])
        al.frames[k] = [{"box": [40.0, 10.0, 100.0, 70.0], "score": 0.99, "landmarks": landmarks.tolist(),
                         "matrix": matrix.tolist(), "file": name}]
    al.frames[frames] = []  # a frame without a face
    al.done = frames + 1
    al.extra["complete"] = True
    al.save(folder / "alignments.json")
    return al


def test_alignments_round_trip(tmp_path):
    al = _faceset(tmp_path)
    back = Alignments.load(tmp_path / "alignments.json")
    assert back == al
    assert back.to_dict() == json.loads((tmp_path / "alignments.json").read_text())
    assert back.face_count == 3 and len(back.frames) == 4 and back.done == 4
    assert json.loads((tmp_path / "alignments.json").read_text())["version"] == 1


def test_alignments_refuse_newer_or_broken_files(tmp_path):
    path = tmp_path / "alignments.json"
    path.write_text(json.dumps({"version": 99, "size": 64, "coverage": 0.75, "frames": {}}))
    with pytest.raises(FaceswapError, match="newer"):
        Alignments.load(path)
    path.write_text(json.dumps({"version": 1, "frames": {}}))
    with pytest.raises(FaceswapError, match="malformed"):
        Alignments.load(path)
    path.write_text("{not json")
    with pytest.raises(FaceswapError, match=str(path)):
        Alignments.load(path)


def test_load_faceset_with_and_without_alignments(tmp_path):
    _faceset(tmp_path)
    images, landmarks = load_faceset(tmp_path)
    assert images.shape == (3, 64, 64, 3) and images.dtype == np.uint8
    np.testing.assert_allclose(landmarks, np.broadcast_to(template_points(64, 0.75), (3, 5, 2)), atol=1e-3)
    images, landmarks = load_faceset(tmp_path, size=32)
    assert images.shape == (3, 32, 32, 3)
    np.testing.assert_allclose(landmarks[0], template_points(32, 0.75), atol=1e-3)
    (tmp_path / "alignments.json").unlink()
    images, landmarks = load_faceset(tmp_path)
    assert images.shape == (3, 64, 64, 3) and landmarks is None
    with pytest.raises(FaceswapError, match="not found"):
        load_faceset(tmp_path / "missing")
