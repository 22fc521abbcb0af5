"""Detection and tracking on the real d6 clip (first 100 frames: the full
1008-frame figures are in scripts/bench_extract.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from faceswap.errors import FaceswapError
from faceswap.extract.align import template_points, transform_points, umeyama
from faceswap.extract.detect import Detector, Faces, square_boxes
from faceswap.extract.track import Tracker, select_faces
from faceswap.video import FrameReader

FRAMES = 100


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(device="cpu")


@pytest.fixture(scope="module")
def d6_tracked(faces_dir, detector):
    """Faces per frame of the first FRAMES frames of d6, with the default tracker."""
    tracker = Tracker(detector, max_faces=1, min_size=40, threshold=0.9, redetect_every=25)
    frames, found = [], []
    for chunk in _chunks(itertools.islice(FrameReader(faces_dir / "d6.mp4"), FRAMES), 8):
        found += tracker.process([f.image for f in chunk])
        frames += [f.image for f in chunk if f.index % 10 == 5]  # a few for the accuracy check
    return frames, found, tracker


def _chunks(iterable, n):
    it = iter(iterable)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def test_one_face_in_at_least_99_percent_of_d6_frames(d6_tracked):
    _, found, tracker = d6_tracked
    assert len(found) == FRAMES
    one = sum(len(f) == 1 for f in found)
    assert one >= 0.99 * FRAMES, f"one face in {one}/{FRAMES} frames"
    assert tracker.full_detections < FRAMES / 5  # tracking did most of the work
    for faces in found:
        assert faces.boxes.dtype == np.float32 and faces.landmarks.shape == (len(faces), 5, 2)


def test_aligned_landmarks_sit_on_the_template(d6_tracked):
    _, found, _ = d6_tracked
    size, coverage = 256, 0.75
    target = template_points(size, coverage)
    errors = []
    for faces in found:
        m = umeyama(faces.landmarks[0], target)
        errors.append(np.linalg.norm(transform_points(faces.landmarks[0], m) - target, axis=1).mean() / size)
    assert np.mean(errors) < 0.02, f"mean landmark error {np.mean(errors):.4f} of the crop size"


def test_tracked_landmarks_match_full_frame_detection(d6_tracked, detector):
    frames, found, _ = d6_tracked
    full = Detector(device="cpu", detect_size=0)  # the naive detector: full frame, full size
    dists = []
    for image, faces in zip(frames, found[5::10]):
        ref = full.detect([image])[0]
        assert len(ref) >= 1
        dists.append(np.linalg.norm(faces.landmarks[0] - ref.landmarks[0], axis=1).mean() / ref.sizes[0])
    assert np.mean(dists) < 0.015, f"tracking vs full detection: {np.mean(dists):.4f} of the face size"


def test_detect_batches_and_finds_nothing_in_a_blank_frame(detector, d6_tracked):
    frames, _, _ = d6_tracked
    blank = np.full_like(frames[0], 127)
    out = detector.detect([frames[0], blank, frames[1]])
    assert [len(f) >= 1 for f in out] == [True, False, True]
    assert isinstance(out[1], Faces) and out[1].boxes.shape == (0, 4)


def test_refine_loses_a_face_that_is_not_there(detector, d6_tracked):
    frames, found, _ = d6_tracked
    moved = found[0].boxes + [200, 200, 200, 200]  # off the face
    lost = detector.refine(np.zeros_like(frames[0]), moved)
    assert lost.scores[0] < 0.5


def test_select_faces_keeps_the_largest_and_drops_small_or_weak():
    boxes = np.float32([[0, 0, 50, 50], [100, 100, 300, 300], [105, 105, 300, 300], [0, 0, 20, 20]])
    faces = Faces(boxes, np.float32([0.99, 0.95, 0.97, 0.99]), np.zeros((4, 5, 2), np.float32))
    one = select_faces(faces, max_faces=1, min_size=30, threshold=0.9)
    np.testing.assert_array_equal(one.boxes, boxes[1:2])
    many = select_faces(faces, max_faces=0, min_size=30, threshold=0.9)
    assert len(many) == 2  # the duplicate of the big face is merged, the tiny one dropped
    assert len(select_faces(faces, max_faces=0, threshold=0.999)) == 0
    sq = square_boxes(np.float32([[0, 0, 10, 20]]))
    np.testing.assert_allclose(sq, [[-5, 0, 15, 20]])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(FaceswapError, match="CUDA"):
        Detector(device="cuda")
