"""Temporal smoothing of face landmarks across video frames.

Per-frame landmarks jitter by a pixel or two; the alignment built from them
jitters with them, and the swapped face shimmers. A One-Euro filter (Casiez,
Roussel, Vogel 2012, "1 Euro Filter: A Simple Speed-based Low-pass Filter for
Noisy Input in Interactive Systems") is a low-pass filter whose cut-off rises
with the signal's speed: strong smoothing while the head is still, little lag
when it moves. It is causal (uses only past frames), so the pipeline needs no
lookahead.

Speeds are measured in face sizes per second (landmarks divided by the eye
distance), so the same parameters suit a small face in 720p and a large one.
"""

from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    """One-Euro filter on an array of any shape.

    min_cutoff: cut-off (Hz) at rest: lower = smoother, more lag at rest.
    beta: how fast the cut-off rises with speed: higher = less lag when moving.
    d_cutoff: cut-off (Hz) of the speed estimate.
    """

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 1.0, d_cutoff: float = 1.0):
        self.dt = 1.0 / max(fps, 1e-6)
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / self.dt)

    def __call__(self, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Filter the next sample; `scale` divides the speed (e.g. the face size)."""
        x = np.asarray(x, np.float64)
        if self.x is None:
            self.x, self.dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self.x) / self.dt
        a_d = self._alpha(self.d_cutoff)
        self.dx = a_d * dx + (1 - a_d) * self.dx
        speed = np.abs(self.dx) / max(scale, 1e-6)
        a = self._alpha(self.min_cutoff + self.beta * speed)
        self.x = a * x + (1 - a) * self.x
        return self.x.copy()


def _eye_distance(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(landmarks[1] - landmarks[0])) or 1.0


class LandmarkSmoother:
    """Smooths the five landmarks of every face through a video.

    Faces are matched to the previous frame's by nearest landmark centre
    (within one eye distance... a face that moves further, or a gap of more
    than `max_gap` frames, starts a new track without smoothing).
    """

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 1.0, max_gap: int = 2):
        self.fps, self.min_cutoff, self.beta, self.max_gap = fps, min_cutoff, beta, max_gap
        self.tracks: list[dict] = []  # {"center", "filter", "last"}
        self.frame = -1

    def __call__(self, frame_index: int, faces: list[np.ndarray]) -> list[np.ndarray]:
        """faces: list of (5, 2) landmark arrays for one frame, in frame order."""
        self.tracks = [t for t in self.tracks if frame_index - t["last"] <= self.max_gap]
        out: list[np.ndarray] = []
        free = list(range(len(self.tracks)))
        for lm in faces:
            lm = np.asarray(lm, np.float64).reshape(5, 2)
            center, size = lm.mean(axis=0), _eye_distance(lm)
            best, best_d = None, size  # match within one eye distance
            for i in free:
                d = float(np.linalg.norm(self.tracks[i]["center"] - center))
                if d < best_d:
                    best, best_d = i, d
            if best is None:
                track = {"filter": OneEuroFilter(self.fps, self.min_cutoff, self.beta), "last": frame_index}
                self.tracks.append(track)
            else:
                free.remove(best)
                track = self.tracks[best]
            smoothed = track["filter"](lm, scale=size)
            track["center"], track["last"] = center, frame_index
            out.append(smoothed.astype(np.float32))
        self.frame = frame_index
        return out
