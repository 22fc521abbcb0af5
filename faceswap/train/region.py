"""Face-region labels without hand-drawn masks, and the face-region model's training.

The face region is the skin a swap may repaint: forehead up to the hairline,
cheeks, jaw and chin, eyes and mouth included; hair (a fringe too), ears, neck
and background left out. No one draws it here. Each aligned face gets:

1. the 468-point Face Mesh (faceswap.landmarks): its outline follows the jaw
   and cheeks and ends at the upper forehead, whatever hair lies there;
2. GrabCut (Rother, Kolmogorov & Blake, SIGGRAPH 2004) started from the mesh:
   certainly face below the brows inside the shrunken outline, probably face
   in the rest of the outline, probably not face in a ring outside it, certainly
   not beyond. Its colour models then cut a fringe, a strand of hair or the
   background out of the outline's forehead and temples;
3. the result kept inside the outline grown a little (so the forehead may reach
   the hairline the mesh stops short of), its largest piece, holes filled.

`train_face_region` fits a small U-Net (the occlusion model's architecture,
faceswap.models.occluder) on those labels, so convert and training get a
region for any face in a few milliseconds and without GrabCut's frame to
frame jumps.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.landmarks import FACE_OVAL, Landmarks, face_oval_mask

BROWS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
NOSE_TIP = 1
_SURE_SHRINK = 0.72   # the outline shrunk towards the nose tip: certainly face (below the brows)
_MAYBE_RING = 0.10    # of the crop side: the ring outside the outline that is probably not face
_GROW = 0.03          # of the crop side: how far past the outline the label may reach


def region_label(face: np.ndarray, points: np.ndarray, iterations: int = 4) -> np.ndarray:
    """(S, S) uint8 0/1 face-region label of one aligned crop (S, S, 3) uint8 RGB
    with its (468, 2) mesh points in crop px."""
    size = face.shape[0]
    oval = face_oval_mask((size, size), points).astype(np.uint8)
    centre = points[NOSE_TIP]
    shrunk = centre + _SURE_SHRINK * (points[list(FACE_OVAL)] - centre)
    sure = np.zeros((size, size), np.uint8)
    cv2.fillPoly(sure, [np.round(shrunk * 16).astype(np.int32)], 1, shift=4)
    brow_line = int(np.ceil(points[list(BROWS)][:, 1].max()))
    sure[:max(brow_line, 0)] = 0  # the forehead may hold a fringe: left for GrabCut to decide
    ring = max(1, int(round(_MAYBE_RING * size)))
    near = cv2.dilate(oval, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1)))
    mask = np.full((size, size), cv2.GC_BGD, np.uint8)
    mask[near > 0] = cv2.GC_PR_BGD
    mask[oval > 0] = cv2.GC_PR_FGD
    mask[sure > 0] = cv2.GC_FGD
    if not (mask == cv2.GC_FGD).any() or not (mask == cv2.GC_BGD).any():
        return oval  # the face fills the crop: no background to learn from
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    grow = max(1, int(round(_GROW * size)))
    fg &= cv2.dilate(oval, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=4)
    if n < 2:
        return oval
    fg = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.zeros_like(fg)
    cv2.drawContours(out, contours, -1, 1, thickness=cv2.FILLED)
    # a thin wisp GrabCut left hanging off the outline is not face: open it away
    return cv2.morphologyEx(out, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))


def region_labels(faces: np.ndarray, coverage: float = DEFAULT_COVERAGE, marks: Landmarks | None = None,
                  batch: int = 64) -> np.ndarray:
    """(N, S, S) uint8 labels of aligned crops (N, S, S, 3) uint8 made at `coverage`."""
    marks = marks or Landmarks()
    out = np.zeros(faces.shape[:3], np.uint8)
    for i in range(0, len(faces), batch):
        chunk = faces[i:i + batch]
        for j, (face, pts) in enumerate(zip(chunk, marks.on_faces(chunk, coverage))):
            out[i + j] = region_label(face, pts)
    return out


class RegionBatches:
    """Random training batches of (crop, label) at the model's resolution: flips,
    small shifts, scales and rotations (the alignment's own jitter), and colour and
    brightness changes (the clips' lighting is not every user's)."""

    def __init__(self, faces: np.ndarray, labels: np.ndarray, resolution: int):
        self.faces, self.labels, self.res = faces, labels, resolution

    def batch(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        size, r = self.faces.shape[1], self.res
        xs, ys = [], []
        for k in rng.integers(0, len(self.faces), n):
            face, label = self.faces[k], self.labels[k].astype(np.float32)
            if rng.random() < 0.5:
                face, label = face[:, ::-1], label[:, ::-1]
            angle, scale = rng.uniform(-8, 8), rng.uniform(0.93, 1.07) * r / size
            m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
            m[:, 2] += (r - size) / 2 + rng.uniform(-0.04, 0.04, 2) * r
            x = cv2.warpAffine(np.ascontiguousarray(face), m, (r, r), flags=cv2.INTER_AREA if size > 2 * r
                               else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            y = cv2.warpAffine(np.ascontiguousarray(label), m, (r, r), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
            x = x.astype(np.float32) / 255
            x = np.clip(x * rng.uniform(0.75, 1.25, 3) * rng.uniform(0.8, 1.2) + rng.uniform(-0.08, 0.08), 0, 1)
            x = x.astype(np.float32)
            xs.append(x)
            ys.append(y)
        x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
        y = torch.from_numpy(np.stack(ys))[:, None]
        return {"x": x, "target": (y > 0.5).float()}


def train_face_region(faces: np.ndarray, labels: np.ndarray, work: str | Path, *,
                      coverage: float = DEFAULT_COVERAGE, resolution: int = 64,
                      channels: tuple[int, ...] = (16, 24, 32, 48), steps: int = 3000, batch_size: int = 24,
                      lr: float = 2e-3, time: float | None = None, seed: int = 0, device: str = "cpu",
                      progress: bool = True, log_every: int = 100) -> dict:
    """Fit the face-region model (an `Occluder` network whose one output is the face
    region, not cover) on `faces` (N, S, S, 3) uint8 aligned at `coverage` and their
    `labels` (N, S, S) 0/1. Checkpoints into `work` (resumes there). Returns {"dir",
    "step", "seconds", "loss": first and last smoothed losses}."""
    from faceswap.models.occluder import Occluder
    from faceswap.train.occluder import fit_logged

    data = RegionBatches(faces, labels, resolution)
    net = Occluder({"resolution": resolution, "channels": list(channels)})
    torch.nn.init.zeros_(net.head.bias)  # about half of a crop is face: start at even odds

    def batches(step: int):
        return data.batch(batch_size, np.random.default_rng(seed * 1_000_003 + step))

    return fit_logged(net, batches, work, steps=steps, lr=lr, time=time, seed=seed, device=device,
                      progress=progress, log_every=log_every, desc="face region",
                      meta={"kind": "face_region", "resolution": resolution, "coverage": coverage})
