"""Dense face landmarks (468 points) for measuring expressions, and the face outline.

Five MTCNN points say where a face is, not what it does: they cannot tell an
open mouth from a closed one. `faceswap evaluate` needs to see the lips and the
eyelids move, and the face-region mask needs the jaw line; both take MediaPipe's
Face Mesh (468 points in 3-D), shipped in weights/face_mesh under the Apache
License 2.0 (converted from the mediapipe wheel by scripts/convert_face_mesh.py;
see the LICENSE file there). Its graph is stored as data (a list of operations in
the safetensors metadata) and run here with torch, so loading it executes no
code and the product needs no mediapipe.

The mesh model wants a face crop with the eyes level, the face filling about
two thirds of a 192 px square; `Landmarks.crop_matrix` makes one from the five
MTCNN points through the alignment template at `MESH_COVERAGE`.

    marks = Landmarks()
    points = marks.on_frames(frames, five_points)   # (N, 468, 2) frame px
    mouth_openness(points), eye_openness(points)    # (N,) fractions of face size
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceswap.errors import FaceswapError
from faceswap.weights import ROOT as WEIGHTS

MESH_DIR = WEIGHTS / "face_mesh"
# Crop for the mesh model: the alignment template at this coverage puts the
# face where MediaPipe's own tracker puts it (a face box grown 1.5 times).
MESH_COVERAGE = 0.62

# Indices into the 468 points (MediaPipe's canonical face mesh topology).
LIPS_INNER = (13, 14)                  # upper and lower inner lip, at the middle
MOUTH_CORNERS = (78, 308)              # inner mouth corners
LEFT_EYE = (159, 145, 33, 133)         # upper lid, lower lid, outer and inner corner
RIGHT_EYE = (386, 374, 263, 362)
# upper/lower lid pairs across each eye: the mean of three gaps is steadier than one
EYE_LIDS = ((159, 145), (158, 153), (160, 144), (386, 374), (385, 380), (387, 373))
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# cheeks and forehead: the plain skin where a swap turns to wax (triangles of mesh points)
SKIN_PATCHES = {
    "forehead": (67, 109, 10, 338, 297, 299, 9, 69),
    "left cheek": (116, 123, 147, 187, 205, 36, 101, 118),
    "right cheek": (345, 352, 376, 411, 425, 266, 330, 347),
}


class FaceMesh(nn.Module):
    """Runs a converted TFLite graph (see scripts/convert_face_mesh.py) in NCHW torch.

    forward: (B, 3, S, S) RGB in [0, 1] -> (points (B, 468, 3) in input px, presence logit (B,))."""

    def __init__(self, tensors: dict[str, torch.Tensor], ops: list[dict], io: dict):
        super().__init__()
        self.ops, self.io = ops, io
        self.size = int(io["size"])
        self.params = nn.ParameterDict({k: nn.Parameter(v.float(), requires_grad=False) for k, v in tensors.items()})

    @staticmethod
    def _same_pad(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
        # TensorFlow's SAME: the extra pixel of an odd total goes after, not before
        h, w = x.shape[-2:]
        ph = max((-(-h // s) - 1) * s + k - h, 0)
        pw = max((-(-w // s) - 1) * s + k - w, 0)
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values = {self.io["input"]: x}
        p = self.params
        for op in self.ops:
            kind, a = op["op"], values[op["x"]]
            if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                w = p[op["w"]]
                if op["same"]:
                    a = self._same_pad(a, w.shape[-1], op["stride"])
                groups = a.shape[1] if kind == "DEPTHWISE_CONV_2D" else 1
                y = F.conv2d(a, w, p[op["b"]], stride=op["stride"], groups=groups)
            elif kind == "PRELU":
                y = F.relu(a) - p[op["alpha"]] * F.relu(-a)
            elif kind == "ADD":
                y = a + values[op["y"]]
            elif kind == "MAX_POOL_2D":
                y = F.max_pool2d(a, 2, 2)
            elif kind == "PAD":
                y = F.pad(a, (0, 0, 0, 0, 0, op["channels"]))
            else:  # the converter refuses anything else
                raise ValueError(f"unknown operation {kind}")
            values[op["out"]] = y
        points = values[self.io["landmarks"]].reshape(x.shape[0], -1, 3)
        return points, values[self.io["presence"]].reshape(-1)


def has_mesh(path: str | Path | None = None) -> bool:
    return (Path(path or MESH_DIR) / "model.safetensors").is_file()


@lru_cache(maxsize=2)
def load_mesh(path: str | None = None) -> FaceMesh:
    """The shipped Face Mesh model (eval mode, CPU). One line naming the file when missing or damaged."""
    from safetensors import SafetensorError, safe_open

    file = Path(path or MESH_DIR) / "model.safetensors"
    if not file.is_file():
        raise FaceswapError(f"{file}: face landmark model not found; run scripts/convert_face_mesh.py")
    try:
        with safe_open(str(file), "pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        ops, io = json.loads(meta["graph"]), json.loads(meta["io"])
    except (SafetensorError, KeyError, ValueError, OSError) as e:
        raise FaceswapError(f"{file}: not a face landmark model ({e})") from None
    return FaceMesh(tensors, ops, io).eval()


class Landmarks:
    """468 landmarks on frames (from MTCNN's five points) or on aligned crops."""

    def __init__(self, path: str | Path | None = None):
        self.model = load_mesh(str(path) if path else None)
        self.size = self.model.size

    def crop_matrix(self, five: np.ndarray) -> np.ndarray:
        """2x3 similarity from frame px to the mesh model's input crop."""
        from faceswap.extract.align import template_points, umeyama

        template = np.asarray(template_points(self.size, MESH_COVERAGE), np.float64)
        return umeyama(np.asarray(five, np.float64).reshape(5, 2), template)

    @torch.inference_mode()
    def on_crops(self, crops: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """crops: (N, S, S, 3) uint8 RGB at the model's size -> (points (N, 468, 2) crop px,
        presence probability (N,))."""
        pts, pres = [], []
        for i in range(0, len(crops), batch):
            x = torch.from_numpy(np.ascontiguousarray(crops[i:i + batch])).permute(0, 3, 1, 2).float() / 255
            p, s = self.model(x)
            pts.append(p[..., :2].numpy())
            pres.append(torch.sigmoid(s).numpy())
        if not pts:
            return np.zeros((0, 468, 2), np.float32), np.zeros(0, np.float32)
        return np.concatenate(pts), np.concatenate(pres)

    def on_faces(self, faces: np.ndarray, coverage: float) -> np.ndarray:
        """Aligned face crops (N, S, S, 3) uint8 at any size and `coverage` -> (N, 468, 2) in their px."""
        from faceswap.extract.align import template_points, umeyama

        size = faces.shape[1]
        # the faces' template, re-aligned to the mesh crop: one similarity for all of them
        m = umeyama(np.asarray(template_points(size, coverage), np.float64),
                    np.asarray(template_points(self.size, MESH_COVERAGE), np.float64))
        crops = np.stack([cv2.warpAffine(f, m, (self.size, self.size), flags=cv2.INTER_AREA if size > self.size
                                         else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for f in faces])
        pts, _ = self.on_crops(crops)
        return _apply_inverse(m, pts)

    def on_frames(self, frames: list[np.ndarray], fives: list[np.ndarray]) -> np.ndarray:
        """One face per frame, found by its five MTCNN points -> (N, 468, 2) frame px."""
        mats = [self.crop_matrix(f) for f in fives]
        crops = np.stack([cv2.warpAffine(img, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE) for img, m in zip(frames, mats)])
        pts, _ = self.on_crops(crops)
        return np.stack([_apply_inverse(m, p[None])[0] for m, p in zip(mats, pts)])


def _apply_inverse(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    inv = cv2.invertAffineTransform(np.asarray(m, np.float64))
    return (pts @ inv[:, :2].T + inv[:, 2]).astype(np.float32)


def face_size(points: np.ndarray) -> np.ndarray:
    """(N,) distance between the outer eye corners: the unit openness is measured in."""
    return np.linalg.norm(points[:, LEFT_EYE[2]] - points[:, RIGHT_EYE[2]], axis=-1) + 1e-6


def mouth_openness(points: np.ndarray) -> np.ndarray:
    """(N,) inner-lip gap over the eye-corner distance (0 closed)."""
    return np.linalg.norm(points[:, LIPS_INNER[0]] - points[:, LIPS_INNER[1]], axis=-1) / face_size(points)


def eye_openness(points: np.ndarray) -> np.ndarray:
    """(N,) mean lid gap of both eyes (three pairs each) over the mean eye width."""
    gap = np.mean([np.linalg.norm(points[:, a] - points[:, b], axis=-1) for a, b in EYE_LIDS], axis=0)
    width = (np.linalg.norm(points[:, LEFT_EYE[2]] - points[:, LEFT_EYE[3]], axis=-1)
             + np.linalg.norm(points[:, RIGHT_EYE[2]] - points[:, RIGHT_EYE[3]], axis=-1)) / 2
    return gap / (width + 1e-6)


SKIN_SHRINK = 0.6  # each patch drawn in towards its centre: its rim would touch the face's edge or the hair


def skin_patches(points: np.ndarray) -> list[np.ndarray]:
    """The cheek and forehead polygons (frame px) of one face's (468, 2) points, shrunk
    to plain skin: a patch that reaches the face's outline measures the edge between
    face and hair (a swap that keeps the hair would score as sharp skin)."""
    out = []
    for idx in SKIN_PATCHES.values():
        poly = points[list(idx)]
        centre = poly.mean(0)
        out.append(centre + SKIN_SHRINK * (poly - centre))
    return out


def polygon_mask(shape: tuple[int, int], points: np.ndarray, indices) -> np.ndarray:
    """(H, W) bool: the convex hull of `points[indices]`."""
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points[list(indices)] * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def face_oval_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: inside the mesh's face outline (jaw, cheeks, upper forehead)."""
    mask = np.zeros(shape, np.uint8)
    poly = np.round(points[list(FACE_OVAL)] * 16).astype(np.int32)
    cv2.fillPoly(mask, [poly], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)
