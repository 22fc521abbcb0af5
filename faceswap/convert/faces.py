"""From landmarks in a frame to a swapped face ready to blend, at paste resolution.

A model works at r px (64 for `lightweight`) but the face it replaces may be
300 px wide in the frame. Drawing r px straight into the frame stretches every
model pixel over several frame pixels with bilinear stair-steps. So the face
is handled at a paste size P = scale * r:

- the original face is cropped at P (the resolution the faceset's 256 px crops
  have) and area-averaged down to r for the model, exactly as training saw it;
- the model's r px face is brought to P by the identity's detail upsampler
  when the model directory has one (`faceswap refine`), else by bicubic
  interpolation (smooth, no stair-steps);
- mask, colour correction and blending then work at P, and `paste` brings the
  face to the frame's scale with area averaging where the frame face is smaller.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from faceswap.convert.blend import crop
from faceswap.extract.align import template_points, umeyama
from faceswap.runtime import autocast
from faceswap.train.refine import load_detail

PASTE_SCALE = 4  # P = 4 r: 256 px for a 64 px model, the faceset crop size


BACKENDS = ("auto", "torch", "onnx")
ONNX_MIN_PARAMETERS = 1_000_000  # below this the export (about a second) costs more than it saves


def _use_onnx(backend: str, model, device: torch.device) -> bool:
    """auto: ONNX Runtime on a CPU when it is installed and the model is large enough
    (measured 1.4x faster than torch on one thread for the 128 px demo route)."""
    import importlib.util

    from faceswap.errors import FaceswapError

    if backend not in BACKENDS:
        raise FaceswapError(f"--backend {backend}: use one of {', '.join(BACKENDS)}")
    have = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
    if backend == "onnx":
        if not have:
            raise FaceswapError("--backend onnx needs onnxruntime: pip install 'faceswap[onnx]'")
        if device.type != "cpu":
            raise FaceswapError(f"--backend onnx runs on the CPU; use --device cpu or --backend torch")
        return True
    if backend == "torch" or device.type != "cpu" or not have:
        return False
    return sum(p.numel() for p in model.parameters()) >= ONNX_MIN_PARAMETERS


class FaceRenderer:
    """The model side of a conversion: crop, swap and upscale faces of frames.

    model: a SwapAutoEncoder in eval mode; to: identity painted; coverage: the
    model's crop coverage; detail: True to use the model directory's detail
    upsampler of `to` when it has one (None: the same), False for bicubic only.
    """

    def __init__(self, model, model_dir: str | Path, to: str, coverage: float, device: torch.device,
                 detail: bool | None = None, backend: str = "auto"):
        self.model, self.to, self.device = model, to, device
        self.size = int(model.resolution)
        self.detail = load_detail(model_dir, to, device, self.size) if detail is not False else None
        self.paste_size = self.size * (self.detail.scale if self.detail is not None else PASTE_SCALE)
        self.template = np.asarray(template_points(self.paste_size, coverage), np.float64)
        self.onnx = self._onnx_swapper(coverage) if _use_onnx(backend, model, device) else None
        self.backend = "onnx" if self.onnx is not None else "torch"

    def _onnx_swapper(self, coverage: float):
        """The same model and upsampler as one ONNX Runtime graph, written to a temp file
        that is gone once the session holds it."""
        import tempfile

        from faceswap.convert.export import OnnxSwapper, write_graph  # only with the optional onnx extra

        with tempfile.TemporaryDirectory(prefix="faceswap-onnx-") as tmp:
            path = Path(tmp) / "model.onnx"
            write_graph(self.model, self.to, self.detail, coverage, path)
            return OnnxSwapper(path, threads=1)

    def crop(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(matrix frame -> P crop, original crop (P, P, 3), model input (r, r, 3)) of one face."""
        m = umeyama(np.asarray(landmarks, np.float64), self.template).astype(np.float64)
        big = crop(image, m, self.paste_size)
        return m, big, cv2.resize(big, (self.size, self.size), interpolation=cv2.INTER_AREA)

    def swap(self, inputs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Model inputs (r, r, 3) uint8 -> [(face (P, P, 3) uint8, learned mask (r, r) float or None)]."""
        if not inputs:
            return []
        if self.onnx is not None:
            out = self.onnx.swap(inputs)
            if self.detail is None:  # the graph gives r px faces: bicubic to the paste size, as below
                out = [(cv2.resize(f, (self.paste_size,) * 2, interpolation=cv2.INTER_CUBIC), m) for f, m in out]
            return [(f, m if self.model.has_mask else None) for f, m in out]
        x = torch.from_numpy(np.stack(inputs)).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        with torch.inference_mode(), autocast(self.device):
            face, mask = self.model.swap(x, self.to)
            face = face.float()
            if self.detail is not None:
                face = self.detail.upscale(face)
            else:
                face = F.interpolate(face, size=(self.paste_size,) * 2, mode="bicubic", align_corners=False)
        face = (face.float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        masks = mask.float()[:, 0].cpu().numpy() if mask is not None else [None] * len(inputs)
        return list(zip(face, masks))
