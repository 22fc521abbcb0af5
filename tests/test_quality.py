"""Sharpness at a fixed analysis scale, on a real frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap.quality import box_sharpness, inner_box, perfect_crop, ratio
from faceswap.video import FrameReader


@pytest.fixture(scope="module")
def face_frame(faces_dir):
    from faceswap.extract.detect import Detector

    image = next(iter(FrameReader(faces_dir / "d10.mp4"))).image
    faces = Detector(device="cpu").detect([image])[0]
    return image, faces.boxes[0], faces.landmarks[0]


def test_unchanged_is_one_and_blur_falls(face_frame):
    image, box, _ = face_frame
    base = box_sharpness(image, box)
    assert ratio([box_sharpness(image, box)], [base]) == pytest.approx(1.0)
    soft = [box_sharpness(cv2.GaussianBlur(image, (0, 0), s), box) / base for s in (1.5, 3.0, 6.0)]
    assert soft[0] < 0.8 and soft[0] > soft[1] > soft[2]


def test_perfect_crop_ceiling_grows_with_resolution(face_frame):
    image, box, lm = face_frame
    inner = inner_box(lm)
    base, base_inner = box_sharpness(image, box), box_sharpness(image, box, inner=inner)
    frames = [perfect_crop(image, lm, s, 0.75) for s in (32, 64, 128, 256)]
    ceil = [box_sharpness(f, box) / base for f in frames]
    ceil_inner = [box_sharpness(f, box, inner=inner) / base_inner for f in frames]
    assert ceil[0] < ceil[1] < ceil[2] < ceil[3] <= 1.05, ceil
    assert ceil_inner[0] < ceil_inner[1] < ceil_inner[2] < ceil_inner[3] <= 1.05, ceil_inner
    # the eyes-to-mouth region is all repainted: there a 64 px face is plainly soft
    assert ceil_inner[1] < 0.5 < ceil_inner[3], ceil_inner
    # pixels outside the crop's footprint stay as they were
    assert np.array_equal(frames[1][:10, :10], image[:10, :10])


def test_ratio_ignores_lost_frames():
    assert ratio([1.0, float("nan"), 3.0], [2.0, 1.0, 0.0]) == pytest.approx(0.5)
    assert ratio([], []) is None
