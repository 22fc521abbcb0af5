"""Keep a face's landmarks through frames where cover hides it from the detector.

When a hand covers half of a face, MTCNN often finds no face at all, or puts
the landmarks somewhere new (on the knuckles: on a real clip, 10-16 % of the
face size off for as long as the cover lasts); the swap then flashes back to A
for those frames, or slides. The visible part of the face still shows where
the head went, so the face is kept from its neighbours for at most
`HOLD_FRAMES` frames:

- detection (`CoverHold`, causal): a face that was tracked and is not found,
  or whose landmarks jump (a point moves by more than `jump` eye distances
  from where the face was, after following the head's own motion), is held:
  its last good landmarks are carried along by the motion of the visible face
  (sparse optical flow, Lucas-Kanade, on corners of the face region outside
  the cover, and a similarity fitted with RANSAC so that points on a moving
  hand are outvoted). After `max_hold` frames in a row it is dropped: a face
  that really left must not be painted on for long;
- alignments (`fill_gaps`): a gap of at most `max_hold` frames between two
  frames that hold the same face is filled by linear interpolation of its
  landmarks (both sides are known).

`cover(image, landmarks) -> (share, mask)`, when given (convert passes the
occlusion model), says how much of the face region at those landmarks is
covered and where (a frame-size bool mask, or None). A face is held where at
least `min_share` of it is covered, or for `grace` frames while the flow still
finds the face moving coherently (a detector miss on a motion-blurred hand that
the occlusion model does not see either); a cut breaks the flow, so it is not
held. The covered pixels are kept out of the flow. Without `cover` every lost or
jumping face is held (up to the bound).

Landmarks are (5, 2) float arrays in frame pixels, as everywhere in convert.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

HOLD_FRAMES = 30  # about one second of video: the stated bound


def _eye_distance(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[1] - lm[0])) or 1.0


def is_jump(old: np.ndarray, new: np.ndarray, jump: float = 0.15) -> bool:
    """Whether some landmark of `new` lies more than `jump` eye distances from `old`'s."""
    old, new = np.asarray(old, np.float64), np.asarray(new, np.float64)
    return float(np.linalg.norm(new - old, axis=1).max()) > jump * _eye_distance(old)


def _face_box_mask(shape, lm: np.ndarray) -> np.ndarray:
    """(H, W) uint8: an ellipse over the face of landmarks `lm` (forehead to chin)."""
    d = _eye_distance(lm)
    centre = lm.mean(0)
    mask = np.zeros(shape[:2], np.uint8)
    angle = float(np.degrees(np.arctan2(*(lm[1] - lm[0])[::-1])))
    cv2.ellipse(mask, tuple(int(v) for v in centre), (int(1.1 * d), int(1.4 * d)), angle, 0, 360, 255, -1)
    return mask


def follow(prev: np.ndarray, grey: np.ndarray, lm: np.ndarray,
           covered: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """(`lm` moved by the face's motion from grey frame `prev` to `grey` (both (H, W) uint8),
    whether the motion was found): corners of the face region outside `covered` followed by
    pyramidal Lucas-Kanade, checked forwards and backwards, and a similarity fitted to them
    with RANSAC. `lm` comes back unchanged, and False, when too few points agree (a cut, a
    face gone)."""
    lm = np.asarray(lm, np.float64)
    mask = _face_box_mask(prev.shape, lm)
    if covered is not None:
        mask[cv2.dilate(covered.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0] = 0
    p0 = cv2.goodFeaturesToTrack(prev, 120, 0.01, max(3, int(_eye_distance(lm) / 15)), mask=mask)
    if p0 is None or len(p0) < 8:
        return lm, False
    lk = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
    p1, ok1, _ = cv2.calcOpticalFlowPyrLK(prev, grey, p0, None, **lk)
    back, ok2, _ = cv2.calcOpticalFlowPyrLK(grey, prev, p1, None, **lk)
    good = (ok1[:, 0] == 1) & (ok2[:, 0] == 1) & (np.linalg.norm((back - p0)[:, 0], axis=1) < 1.0)
    if covered is not None:
        h, w = covered.shape
        q = np.clip(np.round(p1[:, 0]).astype(int), 0, [w - 1, h - 1])
        good &= ~covered[q[:, 1], q[:, 0]]
    if good.sum() < 8:
        return lm, False
    m, inliers = cv2.estimateAffinePartial2D(p0[good], p1[good], method=cv2.RANSAC, ransacReprojThreshold=1.5)
    if m is None or inliers.sum() < 6:
        return lm, False
    return lm @ m[:, :2].T + m[:, 2], True


class CoverHold:
    """Causal landmark hold through cover for convert's detection path (module docstring)."""

    def __init__(self, max_hold: int = HOLD_FRAMES, jump: float = 0.15,
                 cover: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray | None]] | None = None,
                 min_share: float = 0.1, grace: int = 5):
        self.max_hold, self.jump, self.cover, self.min_share = int(max_hold), jump, cover, min_share
        self.grace = int(grace)
        self.tracks: list[dict] = []  # {"lm": last landmarks given, "held": frames held in a row, "unseen"}
        self.prev: np.ndarray | None = None
        self.held_frames = 0          # frames on which a face was held (for reports)

    def __call__(self, image: np.ndarray, faces: list[np.ndarray]) -> list[np.ndarray]:
        """The faces found in the next frame (RGB (H, W, 3)) -> the faces to swap on it."""
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        found = [np.asarray(lm, np.float64).reshape(5, 2) for lm in faces]
        out, keep, free = [], [], list(range(len(found)))
        held_any = False
        for t in self.tracks:
            j = self._nearest(t["lm"], found, free)
            if j is not None and not is_jump(t["lm"], found[j], self.jump):
                free.remove(j)  # an ordinary next position
                t["lm"], t["held"], t["unseen"] = found[j], 0, 0
                out.append(t["lm"])
                keep.append(t)
                continue
            share, covered = self.cover(image, t["lm"]) if self.cover is not None else (1.0, None)
            moved, followed = follow(self.prev, grey, t["lm"], covered) if self.prev is not None else (t["lm"], False)
            # hold where something covers the face, or briefly (a detector miss, a blurred hand
            # the occlusion model does not see) while the visible face is still being followed
            seen = share >= self.min_share
            keep_it = seen or (followed and t.get("unseen", 0) < self.grace)
            if not keep_it or t["held"] >= self.max_hold:
                if j is not None:  # nothing in front: the face really moved; or the bound is reached
                    free.remove(j)
                    t["lm"], t["held"], t["unseen"] = found[j], 0, 0
                    out.append(t["lm"])
                    keep.append(t)
                continue  # lost and not covered, or held for too long: let it go
            if j is not None and not is_jump(moved, found[j], self.jump):
                free.remove(j)  # the detection agrees with the followed face: take it
                t["lm"], t["held"], t["unseen"] = found[j], 0, 0
            else:
                if j is not None:
                    free.remove(j)  # the detection is the same face, drawn onto the cover
                t["lm"], t["held"] = moved, t["held"] + 1
                t["unseen"] = 0 if seen else t.get("unseen", 0) + 1  # held in a row without cover seen
                held_any = True
            out.append(t["lm"])
            keep.append(t)
        for j in free:  # new faces
            keep.append({"lm": found[j], "held": 0})
            out.append(found[j])
        self.tracks, self.prev = keep, grey
        self.held_frames += held_any
        return [o.astype(np.float32) for o in out]

    @staticmethod
    def _nearest(lm: np.ndarray, found: list[np.ndarray], free: list[int]) -> int | None:
        """The free detection whose centre lies within one eye distance of `lm`'s centre."""
        best, best_d = None, _eye_distance(lm)
        for j in free:
            d = float(np.linalg.norm(found[j].mean(0) - lm.mean(0)))
            if d < best_d:
                best, best_d = j, d
        return best


def fill_gaps(frames: dict[int, list[np.ndarray]], max_hold: int = HOLD_FRAMES) -> dict[int, list[np.ndarray]]:
    """Alignments' frames (index -> landmarks of its faces) with each gap of at most
    `max_hold` frames between two sightings of the same face (centres within one
    eye distance) filled by linear interpolation. A new dict; the input is kept."""
    out = {i: [np.asarray(f, np.float32) for f in faces] for i, faces in frames.items()}
    seen = sorted(i for i, faces in frames.items() if faces)
    for a, b in zip(seen[:-1], seen[1:]):
        gap = b - a - 1
        if gap < 1 or gap > max_hold:
            continue
        for lm_a in frames[a]:
            lm_a = np.asarray(lm_a, np.float64)
            dists = [float(np.linalg.norm(np.asarray(lm_b).mean(0) - lm_a.mean(0))) for lm_b in frames[b]]
            j = int(np.argmin(dists))
            if dists[j] > _eye_distance(lm_a):
                continue
            lm_b = np.asarray(frames[b][j], np.float64)
            for k in range(1, gap + 1):
                t = k / (gap + 1)
                out.setdefault(a + k, []).append(((1 - t) * lm_a + t * lm_b).astype(np.float32))
    return out
