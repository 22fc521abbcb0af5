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


BACKENDS = ("auto", "torch", "bf16", "onnx")
ONNX_MIN_PARAMETERS = 1_000_000  # below this the export (about a second) costs more than it saves


def cpu_bf16_supported() -> bool:
    """Whether oneDNN runs bfloat16 convolutions natively on this CPU (AVX512-BF16 or
    AMX); elsewhere bf16 is emulated and slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _candidates(backend: str, model, device: torch.device) -> list[str]:
    """The backends `backend` allows here, in order of preference when equally fast.

    auto on a CPU: torch in fp32, torch in bfloat16 where the CPU has native bf16
    convolutions, and ONNX Runtime when installed and the model is large enough;
    FaceRenderer times each on this machine and keeps the fastest. Which one wins
    depends on the CPU and the library versions: the same 128 px route with its
    upsampler took 73 ms a face in ONNX Runtime, 50 in torch fp32 and 19 in torch
    bf16 on a Xeon with AMX, while an earlier torch release lost to ONNX Runtime."""
    import importlib.util

    from faceswap.errors import FaceswapError

    if backend not in BACKENDS:
        raise FaceswapError(f"--backend {backend}: use one of {', '.join(BACKENDS)}")
    have = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
    if backend == "onnx":
        if not have:
            raise FaceswapError("--backend onnx needs onnxruntime: pip install 'faceswap[onnx]'")
        if device.type != "cpu":
            raise FaceswapError("--backend onnx runs on the CPU; use --device cpu or --backend torch")
        return ["onnx"]
    if backend == "bf16":
        if device.type == "cpu" and not cpu_bf16_supported():
            raise FaceswapError("--backend bf16: this CPU has no native bfloat16 convolutions; use --backend torch")
        return ["bf16"]
    if backend == "torch" or device.type != "cpu":
        return ["torch"]
    out = ["torch"]
    if cpu_bf16_supported():
        out.append("bf16")
    if have and sum(p.numel() for p in model.parameters()) >= ONNX_MIN_PARAMETERS:
        out.append("onnx")
    return out


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
        candidates = _candidates(backend, model, device)
        # exported before the weights change memory format below
        self.onnx = self._onnx_swapper(coverage) if "onnx" in candidates else None
        if device.type == "cpu" and candidates != ["onnx"]:
            # oneDNN's convolutions run fastest on NHWC tensors (about 1.3x in fp32, more in bf16)
            self.model = model.to(memory_format=torch.channels_last)
            if self.detail is not None:
                self.detail = self.detail.to(memory_format=torch.channels_last)
        self.backend, self.timings = candidates[0], {}
        if len(candidates) > 1:
            self.backend = self._fastest(candidates)
        if self.backend != "onnx":
            self.onnx = None

    def _fastest(self, candidates: list[str]) -> str:
        """Time one face through each candidate and keep the fastest. oneDNN settles
        after a few calls (bf16 ran its first three at twice its steady time), so each
        gets four warm-up runs and the best of three counts."""
        import time

        probe = [np.full((self.size, self.size, 3), 128, np.uint8)]
        for name in candidates:
            self.backend = name
            for _ in range(4):
                self.swap(probe)
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                self.swap(probe)
                best = min(best, time.perf_counter() - t0)
            self.timings[name] = best
        return min(candidates, key=lambda n: self.timings[n])

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
        if self.backend == "onnx":
            out = self.onnx.swap(inputs)
            if self.detail is None:  # the graph gives r px faces: bicubic to the paste size, as below
                out = [(cv2.resize(f, (self.paste_size,) * 2, interpolation=cv2.INTER_CUBIC), m) for f, m in out]
            return [(f, m if self.model.has_mask else None) for f, m in out]
        x = torch.from_numpy(np.stack(inputs)).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        precision = (torch.autocast("cpu", dtype=torch.bfloat16) if self.backend == "bf16"
                     else autocast(self.device))
        with torch.inference_mode(), precision:
            face, mask = self.model.swap(x, self.to)
            face = face.float()
            if self.detail is not None:
                face = self.detail.upscale(face)
            else:
                face = F.interpolate(face, size=(self.paste_size,) * 2, mode="bicubic", align_corners=False)
        face = (face.float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        masks = mask.float()[:, 0].cpu().numpy() if mask is not None else [None] * len(inputs)
        return list(zip(face, masks))
