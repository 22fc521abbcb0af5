"""The figures that see what a viewer sees, on real faces: dense landmarks land on
the face, expression fidelity is 1 for an unchanged video and low for a frozen
mouth, the seam is 1 for an unchanged video and above 1 for a hard-edged paste."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from faceswap.evaluate import compare_videos
from faceswap.extract.detect import Detector
from faceswap.landmarks import (LIPS_INNER, Landmarks, eye_openness, face_oval_mask, has_mesh, load_mesh,
                                mouth_openness)
from faceswap.quality import correlation, seam_ratio

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


def _mouth_box(five: np.ndarray, grow: float = 0.6) -> tuple[int, int, int, int]:
    mouth = five[3:5]
    w = np.linalg.norm(mouth[1] - mouth[0])
    c = mouth.mean(0) + [0, 0.1 * w]
    half = (0.5 + grow) * w
    return int(c[0] - half), int(c[1] - 0.7 * half), int(c[0] + half), int(c[1] + 0.9 * half)


def test_frozen_mouth_scores_low(talking, tmp_path, clips):
    """Every frame's mouth region replaced by the first frame's mouth (aligned by the
    five points, feathered in): the lips stop moving, the rest of the face goes on."""
    frames, faces, _ = talking
    first, five0 = frames[0], faces[0].landmarks[0]
    out = []
    for image, f in zip(frames, faces):
        five = f.landmarks[0]
        m, _ = cv2.estimateAffinePartial2D(five0.astype(np.float32), five.astype(np.float32))
        warped = cv2.warpAffine(first, m, image.shape[1::-1], flags=cv2.INTER_LINEAR)
        x1, y1, x2, y2 = _mouth_box(five)
        mask = np.zeros(image.shape[:2], np.float32)
        cv2.ellipse(mask, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, 1, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), 4)[..., None]
        out.append((warped * mask + image * (1 - mask)).astype(np.uint8))
    res = _compare(talking, out, tmp_path, clips)
    mouth = correlation(res.mouth_a, res.mouth_b)
    eyes = correlation(res.eye_a, res.eye_b)
    assert mouth is not None and mouth < 0.5, mouth
    assert eyes > 0.9, eyes  # the eyes were left alone: still followed


def test_hard_paste_scores_a_seam(talking, tmp_path):
    """The face ellipse pasted a shade lighter (a skin tone that does not match) with a
    hard edge: an edge the original does not have; feathered over a wide band it scores lower."""
    frames, faces, _ = talking

    def paste(image, box, feather, lighter=30):
        x1, y1, x2, y2 = box
        mask = np.zeros(image.shape[:2], np.float32)
        cv2.ellipse(mask, (int((x1 + x2) / 2), int((y1 + y2) / 2)), (int((x2 - x1) / 2), int((y2 - y1) / 2)),
                    0, 0, 360, 1, -1)
        if feather:
            mask = cv2.GaussianBlur(mask, (0, 0), feather)
        shifted = np.clip(image.astype(np.float32) + lighter, 0, 255)
        return (shifted * mask[..., None] + image * (1 - mask[..., None])).astype(np.uint8)

    pairs = list(zip(frames[:10], faces[:10]))
    hard = [seam_ratio(im, paste(im, f.boxes[0], 0), f.boxes[0]) for im, f in pairs]
    soft = [seam_ratio(im, paste(im, f.boxes[0], 12), f.boxes[0]) for im, f in pairs]
    slight = [seam_ratio(im, paste(im, f.boxes[0], 12, 8), f.boxes[0]) for im, f in pairs]
    blurred = [seam_ratio(im, cv2.GaussianBlur(im, (0, 0), 3), f.boxes[0]) for im, f in pairs]
    same = [seam_ratio(im, im, f.boxes[0]) for im, f in pairs]
    assert np.median(hard) > 1.3, hard
    # a tone 30 levels off shows even feathered; 8 levels off, feathered, does not
    assert 1.1 < np.median(soft) < np.median(hard), (soft, hard)
    assert np.median(slight) <= 1.1, slight
    # the seam is an edge, not texture: a frame blurred all over has no seam to speak of
    assert 0.85 < np.median(blurred) < 1.05, blurred
    assert same == [1.0] * 10


def test_damaged_or_missing_mesh_is_one_line_naming_the_file(tmp_path):
    from faceswap.errors import FaceswapError
    from faceswap.landmarks import MESH_DIR

    (tmp_path / "model.safetensors").write_bytes((MESH_DIR / "model.safetensors").read_bytes()[:1000])
    for folder, says in ((tmp_path, "not a face landmark model"), (tmp_path / "nothing", "not found")):
        with pytest.raises(FaceswapError) as e:
            load_mesh(str(folder))
        assert str(folder / "model.safetensors") in str(e.value) and says in str(e.value)
        assert "\n" not in str(e.value)
