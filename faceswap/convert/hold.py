"""Keep a face's landmarks through frames where cover hides it from the detector.

When a hand covers half of a face, MTCNN often finds no face at all, or puts
the landmarks somewhere new (on the knuckles); the swap then flashes back to A
for those frames, or jumps. The visible part of the face has not moved much,
so the face is kept from its neighbours for at most `HOLD_FRAMES` frames:

- detection (`CoverHold`, causal): a face that was tracked and is not found,
  or whose landmarks jump (their shape changes by more than `jump` eye
  distances after the best similarity fit, or the scale by more than 25 %),
  keeps its last good landmarks; after `max_hold` frames in a row it is
  dropped (a face that really left must not be painted on for long);
- alignments (`fill_gaps`): a gap of at most `max_hold` frames between two
  frames that hold the same face is filled by linear interpolation of its
  landmarks (both sides are known, so this also follows the head's motion).

`confirm(image, landmarks) -> bool`, when given, is asked before a face is
held on a frame without detection: convert passes the occlusion model there
(hold only where it sees something in front of the face), so a cut or a face
leaving the frame is not held at all.

Landmarks are (5, 2) float arrays in frame pixels, as everywhere in convert.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from faceswap.extract.align import umeyama

HOLD_FRAMES = 30  # about one second of video: the stated bound


def _eye_distance(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[1] - lm[0])) or 1.0


def is_jump(old: np.ndarray, new: np.ndarray, jump: float = 0.2) -> bool:
    """Whether `new` landmarks are not a plausible next position of `old` ones:
    their shape differs after the best similarity fit by more than `jump` eye
    distances (RMS), or their size changed by more than 25 %."""
    old, new = np.asarray(old, np.float64), np.asarray(new, np.float64)
    d_old, d_new = _eye_distance(old), _eye_distance(new)
    if not 0.8 < d_new / d_old < 1.25:
        return True
    m = umeyama(old, new)
    fitted = old @ m[:, :2].T + m[:, 2]
    return float(np.sqrt(((fitted - new) ** 2).sum(1).mean())) > jump * d_new


class CoverHold:
    """Causal landmark hold through cover for convert's detection path (module docstring)."""

    def __init__(self, max_hold: int = HOLD_FRAMES, jump: float = 0.2,
                 confirm: Callable[[np.ndarray, np.ndarray], bool] | None = None):
        self.max_hold, self.jump, self.confirm = int(max_hold), jump, confirm
        self.tracks: list[dict] = []  # {"lm": last good landmarks, "held": frames held in a row}
        self.held_frames = 0          # frames on which some face was held (for reports)

    def __call__(self, image: np.ndarray | None, faces: list[np.ndarray]) -> list[np.ndarray]:
        """The faces of the next frame -> the faces to swap on it (found, or held)."""
        out, used = [], set()
        for lm in faces:
            lm = np.asarray(lm, np.float64).reshape(5, 2)
            track = self._match(lm, used)
            if track is None:
                self.tracks.append({"lm": lm, "held": 0})
                used.add(len(self.tracks) - 1)
                out.append(lm)
                continue
            used.add(track)
            t = self.tracks[track]
            if t["held"] < self.max_hold and is_jump(t["lm"], lm, self.jump):
                t["held"] += 1  # landmarks moved onto the cover: keep the last good ones
                out.append(t["lm"].copy())
                continue
            t["lm"], t["held"] = lm, 0
            out.append(lm)
        keep = []
        held_any = False
        for i, t in enumerate(self.tracks):
            if i in used:
                keep.append(t)
                continue
            if t["held"] >= self.max_hold or (self.confirm is not None and image is not None
                                              and not self.confirm(image, t["lm"])):
                continue  # gone for longer than the bound, or nothing covers where it was: drop it
            t["held"] += 1
            out.append(t["lm"].copy())
            keep.append(t)
            held_any = True
        self.tracks = keep
        self.held_frames += held_any or any(t["held"] for t in keep)
        return [o.astype(np.float32) for o in out]

    def _match(self, lm: np.ndarray, used: set[int]) -> int | None:
        """The unused track whose last good landmarks lie within one eye distance of `lm`'s centre."""
        best, best_d = None, _eye_distance(lm)
        for i, t in enumerate(self.tracks):
            if i in used:
                continue
            d = float(np.linalg.norm(t["lm"].mean(0) - lm.mean(0)))
            if d < max(best_d, _eye_distance(t["lm"])) and (best is None or d < best_d):
                best, best_d = i, d
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
