"""Tracking through cover (faceswap.convert.hold): the stated bound, the gap filling of
alignments, and a real face half covered for 20 frames that stays swapped with landmarks
near the uncovered truth."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap.convert.hold import HOLD_FRAMES, CoverHold, fill_gaps, is_jump

FACE = np.array([[100, 100], [140, 100], [120, 125], [105, 145], [135, 145]], np.float64)
IMAGE = np.zeros((240, 240, 3), np.uint8)


def test_is_jump():
    assert not is_jump(FACE, FACE + [2, 1])
    assert is_jump(FACE, FACE + [0, 10])  # 10 px = a quarter of the 40 px eye distance
    moved = FACE.copy()
    moved[3:] += [0, 8]  # the mouth alone slides onto a hand
    assert is_jump(FACE, moved)


@pytest.mark.parametrize("bound", [5, HOLD_FRAMES])
def test_a_lost_face_is_held_for_the_bound_then_dropped(bound):
    hold = CoverHold(max_hold=bound)
    assert len(hold(IMAGE, [FACE])) == 1
    counts = [len(hold(IMAGE, [])) for _ in range(bound + 3)]
    assert counts == [1] * bound + [0, 0, 0]
    assert len(hold(IMAGE, [FACE + 1])) == 1  # found again: a new track


def test_jumping_landmarks_are_held_while_covered():
    hold = CoverHold(max_hold=4, cover=lambda image, lm: (0.5, None))
    hold(IMAGE, [FACE])
    jumped = FACE + [0, 12]
    for _ in range(4):
        assert np.allclose(hold(IMAGE, [jumped])[0], FACE)
    assert np.allclose(hold(IMAGE, [jumped])[0], jumped)  # past the bound the detection wins


def test_nothing_in_front_means_no_hold():
    """A face that leaves (a cut, out of the frame) with nothing covering it is not held."""
    hold = CoverHold(cover=lambda image, lm: (0.0, None))
    hold(IMAGE, [FACE])
    assert hold(IMAGE, []) == []
    assert np.allclose(hold(IMAGE, [FACE + [0, 12]])[0], FACE + [0, 12])


def test_fill_gaps_interpolates_up_to_the_bound():
    frames = {0: [FACE], **{i: [] for i in range(1, 11)}, 11: [FACE + [11, 0]], 12: [FACE + [12, 0]]}
    filled = fill_gaps(frames, max_hold=10)
    for i in range(1, 11):
        assert len(filled[i]) == 1 and np.allclose(filled[i][0], FACE + [i, 0], atol=1e-4)
    too_long = fill_gaps(frames, max_hold=9)
    assert all(too_long[i] == [] for i in range(1, 11))
    other = fill_gaps({0: [FACE], 1: [], 2: [FACE + [200, 0]]}, max_hold=10)  # another face: no bridge
    assert other[1] == []


def test_half_covered_face_stays_swapped_for_20_frames(faces_dir, tmp_path):
    """d6 (never seen by the occlusion model): frames 10-29 of 40 have the held-out card over
    the nose, mouth and chin (about half the face region). The tracker alone puts the landmarks
    onto the card; with the hold every covered frame keeps a face whose landmarks lie within 3 %
    of the face size (mean over the five points) of those found on the uncovered frames."""
    import cv2

    from faceswap.occlusion import OcclusionMasker, has_occluder, load_occluder
    from faceswap.extract.align import template_points, umeyama
    from faceswap.extract.detect import Detector
    from faceswap.extract.track import Tracker
    from faceswap.convert.masks import landmark_mask
    from faceswap.train.cover import card_alpha, card_texture
    from faceswap.video import FrameReader, cut_clip

    clip = tmp_path / "d6.mp4"
    cut_clip(faces_dir / "d6.mp4", clip, 40, preset="ultrafast")
    frames = [f.image for f in FrameReader(clip)]
    detector = Detector(device="cpu")
    truth = Tracker(detector, max_faces=1)
    marks = [truth.process([f])[0] for f in frames]
    lms = [m.landmarks[0].astype(np.float64) for m in marks]
    sizes = [float(max(m.boxes[0, 2] - m.boxes[0, 0], m.boxes[0, 3] - m.boxes[0, 1])) for m in marks]
    texture = card_texture(frames[0].shape[:2]).astype(np.float32)
    covered = []
    for i, (f, lm) in enumerate(zip(frames, lms)):
        if 10 <= i < 30:
            d = float(np.linalg.norm(lm[1] - lm[0]))
            a = card_alpha(f.shape[:2], (lm[2] + lm[3:].mean(0)) / 2 + [0, 0.3 * d], (2.6 * d, 1.6 * d), 0)[..., None]
            f = np.clip(f * (1 - a) + texture * a + 0.5, 0, 255).astype(np.uint8)
        covered.append(f)

    class Crops:  # convert's crop at paste size 256, coverage 0.75
        template = template_points(256, 0.75).astype(np.float64)

        def crop(self, image, lm):
            m = umeyama(np.asarray(lm, np.float64), self.template)
            return m, cv2.warpAffine(image, m, (256, 256), borderMode=cv2.BORDER_REPLICATE), None

    cover = None
    if has_occluder():
        net, cov = load_occluder()
        cover = OcclusionMasker(net, cov, 256, 0.75, detector.device).cover_at(
            Crops(), landmark_mask(256, Crops.template, "face"))
    tracker, hold = Tracker(Detector(device="cpu"), max_faces=0, rotate=True), CoverHold(cover=cover)
    raw_err, held_err = [], []
    for i, f in enumerate(covered):
        found = list(tracker.process([f])[0].landmarks)
        out = hold(f, found)
        if 10 <= i < 30:
            assert out, f"frame {i}: the covered face was dropped"
            err = lambda lm: float(np.linalg.norm(np.asarray(lm) - lms[i], axis=1).mean()) / sizes[i]
            held_err.append(min(err(o) for o in out))
            raw_err.append(min((err(o) for o in found), default=np.inf))
    print(f"\nhalf-covered d6, 20 frames: landmark error (mean of 5 points / face size) with the hold "
          f"max {100 * max(held_err):.1f} %, mean {100 * np.mean(held_err):.1f} %; tracker alone max "
          f"{100 * max(raw_err):.1f} %; occlusion model {'used' if cover else 'absent'}")
    assert max(held_err) < 0.03
    assert max(raw_err) > max(held_err)


def test_a_brief_miss_is_bridged_while_the_face_is_followed_but_a_cut_is_not():
    """Nothing seen in front (share 0): a face the flow still follows is held for `grace`
    frames (a detector miss on a blurred hand); on a cut to another picture the flow breaks
    and the face is let go at once."""
    import cv2

    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (240, 240, 3), dtype=np.uint8), (0, 0), 2)
    other = cv2.GaussianBlur(rng.integers(0, 255, (240, 240, 3), dtype=np.uint8), (0, 0), 2)
    hold = CoverHold(cover=lambda image, lm: (0.0, None), grace=3)
    hold(scene, [FACE])
    assert [len(hold(scene, [])) for _ in range(5)] == [1, 1, 1, 0, 0]
    hold = CoverHold(cover=lambda image, lm: (0.0, None), grace=3)
    hold(scene, [FACE])
    assert hold(other, []) == []
