"""The figures that see what a viewer sees, on real faces: dense landmarks land on
the face, expression fidelity is 1 for an unchanged video and low for a frozen
mouth, the seam is 1 for an unchanged video and above 1 for a hard-edged paste,
skin detail is 1 for an unchanged video, low for waxy skin and high for noise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from faceswap.evaluate import compare_videos
from faceswap.extract.detect import Detector
from faceswap.landmarks import (LIPS_INNER, Landmarks, eye_openness, face_oval_mask, has_mesh, load_mesh,
                                mouth_openness)
from faceswap.quality import correlation, ratio, seam_ratio

FRAMES = 60


@pytest.fixture(scope="module")
def talking(faces_dir, tmp_path_factory, clips):
    """60 frames of d10 talking, their MTCNN faces, and the clip as an mp4."""
    frames = clips.frames("d10.mp4", FRAMES)
    faces = Detector(device="cpu").detect(frames)
    path = clips.encode(tmp_path_factory.mktemp("talk") / "orig.mp4", frames, 30)
    return frames, faces, path


def _compare(talking, frames, tmp_path, clips):
    """compare_videos of the talking clip against `frames` encoded as a video of their own."""
    swapped = clips.encode(tmp_path / "swapped.mp4", frames, 30)
    return compare_videos(talking[2], swapped, torch.device("cpu"))


def test_mesh_is_shipped_and_loads_as_data():
    assert has_mesh()
    model = load_mesh()
    assert len(model.ops) > 50 and model.size == 192
    # every weight is a tensor read from safetensors; the graph is JSON, not code
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_mesh_lands_on_the_face(talking):
    frames, faces, _ = talking
    marks = Landmarks()
    pts = marks.on_frames(frames[:8], [f.landmarks[0] for f in faces[:8]])
    assert pts.shape == (8, 468, 2)
    for p, f in zip(pts, faces[:8]):
        five = f.landmarks[0]
        size = np.linalg.norm(five[1] - five[0])
        # the mesh's eye centres and inner lips lie on MTCNN's eyes and mouth (within 15 % of the eye distance)
        left = p[[33, 133]].mean(0)
        right = p[[263, 362]].mean(0)
        assert np.linalg.norm(left - five[0]) < 0.15 * size and np.linalg.norm(right - five[1]) < 0.15 * size
        mouth = p[list(LIPS_INNER)].mean(0)
        assert np.linalg.norm(mouth - five[3:5].mean(0)) < 0.2 * size
        # the outline holds the five points and is about a face large
        oval = face_oval_mask(frames[0].shape[:2], p)
        assert all(oval[int(y), int(x)] for x, y in five)
        x1, y1, x2, y2 = f.boxes[0]
        assert 0.5 < oval.sum() / ((x2 - x1) * (y2 - y1)) < 1.5


def test_openness_moves_with_the_mouth(talking):
    frames, faces, _ = talking
    pts = Landmarks().on_frames(frames, [f.landmarks[0] for f in faces])
    mouth, eyes = mouth_openness(pts), eye_openness(pts)
    # d10 talks: the lips open and close over two seconds; the eyes stay open (no blink scored as shut)
    assert mouth.max() > 3 * max(mouth.min(), 0.01) and mouth.max() > 0.1
    assert eyes.min() > 0.1


def test_unchanged_video_scores_one(talking, tmp_path, clips):
    frames, _, _ = talking
    out = _compare(talking, frames, tmp_path, clips)
    assert correlation(out.mouth_a, out.mouth_b) > 0.98
    assert correlation(out.eye_a, out.eye_b) > 0.95
    assert np.median(out.seam) == pytest.approx(1.0, abs=0.02)
    assert ratio(out.skin_swapped, out.skin_original) == pytest.approx(1.0, abs=0.05)


def test_skin_detail_sees_wax_and_noise(faces_dir, tmp_path, clips):
    """On a face whose skin shows texture (d0): edge-preserving smoothing (eyes, brows
    and lips keep their edges, pores and fine shading go: the look of a waxy swap)
    scores well below 1; noise the video does not have scores above 1."""
    frames = clips.frames("d0.mp4", 24)[::2]
    orig = clips.encode(tmp_path / "orig.mp4", frames, 30)

    def skin(images, name):
        path = clips.encode(tmp_path / f"{name}.mp4", images, 30)
        out = compare_videos(orig, path, torch.device("cpu"))
        return ratio(out.skin_swapped, out.skin_original)

    assert skin(frames, "same") == pytest.approx(1.0, abs=0.05)
    wax = skin([cv2.bilateralFilter(f, 9, 30, 7) for f in frames], "wax")
    assert wax is not None and wax < 0.5, wax
    rng = np.random.default_rng(0)
    noisy = skin([np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8) for f in frames], "noise")
    assert noisy is not None and noisy > 1.5, noisy
