"""Faces turned sideways in the pixels (no rotation tag): `rotate` finds them,
maps the landmarks back, and alignment turns the crop upright."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap.errors import FaceswapError
from faceswap.extract import extract
from faceswap.extract.align import template_points
from faceswap.extract.detect import Faces
from faceswap.extract.faceset import load_faceset
from faceswap.extract.track import rotate_points, unrotate_faces

from .conftest import encode


def test_points_map_back_from_every_turn():
    image = np.zeros((30, 50, 3), np.uint8)
    image[7, 11] = 255
    for turns in range(4):
        turned = np.rot90(image, turns)
        y, x = np.argwhere(turned[:, :, 0])[0]
        assert np.allclose(rotate_points([[11, 7]], turns, image.shape), [[x, y]])
        face = Faces(np.float32([[x - 1, y - 1, x + 1, y + 1]]), np.ones(1, np.float32),
                     np.tile(np.float32([x, y]), (1, 5, 1)))
        back = unrotate_faces(face, turns, image.shape)
        assert np.allclose(back.landmarks[0, 0], [11, 7]) and np.allclose(back.boxes[0], [10, 6, 12, 8])


def test_a_clip_turned_90_degrees_is_found_and_aligned_upright(d20_frames, tmp_path):
    clip = encode(tmp_path / "turned.mp4", [np.ascontiguousarray(np.rot90(f, 1)) for f in d20_frames])
    s = extract(clip, tmp_path / "auto", size=96, progress=False)  # rotate is on by default
    assert s.frames_processed - s.frames_without_face >= 0.95 * s.frames_processed, s
    images, landmarks = load_faceset(tmp_path / "auto")
    err = np.linalg.norm(landmarks - template_points(96, 0.75), axis=2).mean() / 96
    assert err < 0.02, err  # as for upright clips: the crop is upright
    with pytest.raises(FaceswapError, match="no face found"):  # upright only: the turned face is not found
        extract(clip, tmp_path / "off", size=96, rotate=False, progress=False, every=4)
