"""Sharpness at a fixed analysis scale, on a real frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap.quality import box_sharpness, perfect_crop, ratio
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
    base = box_sharpness(image, box)
    ceil = [box_sharpness(perfect_crop(image, lm, s, 0.75), box) / base for s in (32, 64, 128, 256)]
    assert ceil[0] < ceil[1] < ceil[2] < ceil[3] <= 1.05, ceil
    assert ceil[1] < 0.5 < ceil[3], ceil
    # pixels outside the crop's footprint stay as they were
    out = perfect_crop(image, lm, 64, 0.75)
    assert np.array_equal(out[:10, :10], image[:10, :10])


def test_ratio_ignores_lost_frames():
    assert ratio([1.0, float("nan"), 3.0], [2.0, 1.0, 0.0]) == pytest.approx(0.5)
    assert ratio([], []) is None
