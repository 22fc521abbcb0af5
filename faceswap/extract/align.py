"""Face alignment: a least-squares similarity transform from five landmarks to a
canonical template (Umeyama 1991, "Least-squares estimation of transformation
parameters between two point patterns"), and the aligned crop it gives.

The template is the widely used five-point frontal face layout of the 112 px
face-recognition crop (eyes, nose tip, mouth corners), normalised to [0, 1].
`coverage` is the fraction of the crop side that this tight face crop takes:
1.0 is the tight face crop; 0.75 (the default) shrinks the face to 3/4 of the
crop about the crop centre, so more of hair, chin and cheeks are inside
(smaller coverage shows more around the face).

`LandmarkSmoother` and `smooth_sequence` damp frame-to-frame landmark jitter
(off by default for extraction; convert uses them for a steadier face).
"""

from __future__ import annotations

import cv2
import numpy as np

# left eye, right eye, nose, mouth left, mouth right (image-left/right, as MTCNN orders them)
TEMPLATE = (
    np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
        dtype=np.float32,
    )
    / 112.0
)
DEFAULT_COVERAGE = 0.75


def template_points(size: int, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """Template landmarks (5, 2) in pixels of a `size` x `size` crop.

    coverage in (0, ~1.2]: fraction of the crop side the tight face crop takes; smaller shows more around the face.
    """
    if coverage <= 0:
        raise ValueError(f"coverage must be positive, got {coverage}")
    return (((TEMPLATE - 0.5) * float(coverage) + 0.5) * float(size)).astype(np.float32)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Similarity transform (rotation, uniform scale, translation) that maps
    `src` (N, 2) onto `dst` (N, 2) with least squared error; returns (2, 3)
    float64 M with dst ~= M[:, :2] @ src + M[:, 2]. Reflections are excluded.
    """
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"umeyama needs two matching point sets of at least 2 points, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum() / len(src)
    cov = d0.T @ s0 / len(src)  # (2, 2)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0  # the best rotation, not a reflection
    rot = u @ np.diag(sign) @ vt
    scale = (sig * sign).sum() / var_s if var_s > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine `matrix` to points (..., 2); float32 out."""
    points = np.asarray(points, np.float64)
    matrix = np.asarray(matrix, np.float64)
    return (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def alignment_matrix(landmarks: np.ndarray, size: int, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """(2, 3) matrix mapping frame coordinates to the aligned crop of `size`."""
    return umeyama(landmarks, template_points(size, coverage))


def align(
    image: np.ndarray, landmarks: np.ndarray, size: int = 256, coverage: float = DEFAULT_COVERAGE
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned face crop.

    image: (H, W, 3) uint8; landmarks: (5, 2) in image pixels (MTCNN order).
    Returns (crop (size, size, 3) uint8, matrix (2, 3) float64 frame -> crop).
    Outside the frame the crop is black.
    """
    matrix = alignment_matrix(landmarks, size, coverage)
    crop = cv2.warpAffine(
        image, matrix, (int(size), int(size)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return crop, matrix


def smooth_sequence(landmarks: np.ndarray, radius: int = 2) -> np.ndarray:
    """Centred moving average over time of landmarks (T, 5, 2) (offline use:
    convert can smooth a whole track). Ends use the frames available."""
    landmarks = np.asarray(landmarks, np.float32)
    if radius <= 0 or len(landmarks) < 2:
        return landmarks.copy()
    csum = np.concatenate([np.zeros_like(landmarks[:1]), np.cumsum(landmarks, axis=0, dtype=np.float64)])
    t = np.arange(len(landmarks))
    lo, hi = np.maximum(t - radius, 0), np.minimum(t + radius + 1, len(landmarks))
    return ((csum[hi] - csum[lo]) / (hi - lo)[:, None, None]).astype(np.float32)


class LandmarkSmoother:
    """Online exponential smoothing of one face's landmarks (5, 2).

    alpha in (0, 1]: weight of the new measurement (1 = no smoothing). A jump
    larger than `reset_fraction` of the face size (a new face, a cut) resets
    the state instead of dragging the old face along.
    """

    def __init__(self, alpha: float = 0.5, reset_fraction: float = 0.25) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.reset_fraction = reset_fraction
        self.state: np.ndarray | None = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        landmarks = np.asarray(landmarks, np.float32)
        if self.state is not None:
            face = np.linalg.norm(self.state[0] - self.state[4]) + np.linalg.norm(self.state[1] - self.state[3])
            if np.abs(landmarks - self.state).max() > self.reset_fraction * max(face, 1.0):
                self.state = None
        self.state = landmarks.copy() if self.state is None else self.alpha * landmarks + (1 - self.alpha) * self.state
        return self.state.copy()
