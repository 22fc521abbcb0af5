"""`faceswap export`: a swap model as one ONNX graph, for ONNX Runtime or DeepFaceLive.

Two forms of the same computation (encoder, the decoder of `to`, its learned
mask, and the detail upsampler when the model has one):

- ``onnx``: ``face`` (N, 3, r, r) float32 RGB in [0, 1], the aligned crop at the
  model's resolution, -> ``swapped`` (N, 3, P, P) in [0, 1] at paste size
  (P = scale * r with a detail upsampler, else r) and ``mask`` (N, 1, r, r).
  What `faceswap convert` and `faceswap live` run through ONNX Runtime.
- ``dfm``: the file DeepFaceLive loads. Its first input is named ``in_face:0``
  (N, P, P, 3) float32 BGR in [0, 1], its second ``morph_value:0`` (1,) float32,
  and it returns, in this order, the input face's mask (N, P, P, 1), the
  swapped ("celebrity") face (N, P, P, 3) BGR and that face's mask
  (N, P, P, 1). morph_value 1 gives `to`'s face; lower values blend towards the
  model's own reconstruction of the input person, pixel by pixel (our models
  have no latent morph). Without a learned mask both masks are the soft face
  region convert's "face" mask draws from the template.

Each file carries metadata (resolution, paste size, crop coverage, identity,
the generator and a synthetic-media note) that `load_session` and a reader can
check. Loading a graph runs no Python code: ONNX is data.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceswap import __version__
from faceswap.convert.files import pick_identity
from faceswap.convert.masks import landmark_mask, refine_mask
from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE, template_points
from faceswap.fileio import atomic_path, check_replace, output_path, write_error
from faceswap.train import load_swap_model
from faceswap.train.refine import load_detail

FORMATS = ("onnx", "dfm")
OPSET = 17


class _SwapGraph(nn.Module):
    """face (N, 3, r, r) RGB -> (swapped (N, 3, P, P), mask (N, 1, r, r))."""

    def __init__(self, model, to: str, detail, face_mask: torch.Tensor):
        super().__init__()
        self.model, self.to, self.detail = model, to, detail
        self.register_buffer("face_mask", face_mask)  # (1, 1, r, r), used without a learned mask

    def swap(self, x: torch.Tensor, identity: str) -> tuple[torch.Tensor, torch.Tensor]:
        face, mask = self.model.decode(self.model.encode(x), identity)
        if mask is None:
            mask = self.face_mask.expand(x.shape[0], 1, -1, -1)
        return face, mask

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        face, mask = self.swap(x, self.to)
        if self.detail is not None:
            face = self.detail(face).recon.clamp(0, 1)
        return face, mask


class _DFMGraph(nn.Module):
    """DeepFaceLive's contract: (in_face NHWC BGR, morph) -> (in mask, face, face mask), all NHWC at P."""

    def __init__(self, graph: _SwapGraph, source: str, paste: int):
        super().__init__()
        self.graph, self.source, self.paste = graph, source, paste
        self.res = int(graph.model.resolution)

    def forward(self, in_face: torch.Tensor, morph_value: torch.Tensor):
        x = in_face.permute(0, 3, 1, 2).flip(1)  # NHWC BGR -> NCHW RGB
        if self.paste != self.res:
            x = F.avg_pool2d(x, self.paste // self.res)  # area-average down, as training saw its faces
        face, mask = self.graph.swap(x, self.graph.to)
        own, own_mask = self.graph.swap(x, self.source)
        m = morph_value.reshape(1, 1, 1, 1).clamp(0, 1)
        face, mask = m * face + (1 - m) * own, m * mask + (1 - m) * own_mask
        if self.graph.detail is not None:
            face = self.graph.detail(face).recon.clamp(0, 1)
            mask = F.interpolate(mask, size=(self.paste, self.paste), mode="bilinear", align_corners=False)
            own_mask = F.interpolate(own_mask, size=(self.paste, self.paste), mode="bilinear", align_corners=False)
        nhwc = lambda t: t.permute(0, 2, 3, 1)  # noqa: E731
        return nhwc(own_mask), nhwc(face.flip(1)), nhwc(mask)


@dataclass
class ExportSummary:
    output: Path
    format: str
    identity: str
    resolution: int
    paste_size: int
    coverage: float
    seconds: float

    def __str__(self) -> str:
        size = self.paste_size if self.format == "dfm" else self.resolution
        text = (f"{self.output}: {self.format} graph of identity {self.identity!r}, faces in at {size} px, "
                f"out at {self.paste_size} px (model {self.resolution} px, crop coverage {self.coverage:g}) "
                f"in {self.seconds:.1f} s")
        if self.format == "dfm":
            text += (f"; in DeepFaceLive set the face aligner's resolution to {self.paste_size} and adjust its face "
                     "coverage until the preview shows the face as this model was trained (see the README)")
        return text


def _face_mask(res: int, coverage: float) -> torch.Tensor:
    mask = refine_mask(landmark_mask(res, template_points(res, coverage), "face"), blur=5.0)
    return torch.from_numpy(mask)[None, None]


def export(model_dir: str | os.PathLike, output: str | os.PathLike, *, format: str | None = None,
           to: str | None = None, detail: bool = True, force: bool = False) -> ExportSummary:
    """Write the swap model in `model_dir` as an ONNX graph (`format` "onnx") or a
    DeepFaceLive model (`format` "dfm"); the format defaults to the output's suffix.
    to: the identity painted (default: the other one, B). detail: include the
    detail upsampler when the model has one. Raises FaceswapError (one line)
    for a folder that is not a model, an unknown format or identity, or an
    existing output without `force`."""
    start = time.perf_counter()
    model_dir, output = Path(model_dir), output_path(output)
    format = (format or output.suffix.lstrip(".")).lower()
    if format not in FORMATS:
        raise FaceswapError(f"{output}: unknown export format {format!r}; use --format onnx or dfm "
                            "(or a .onnx / .dfm output)")
    if output.exists():
        if not force:
            raise FaceswapError(f"{output}: output already exists; pass --force to overwrite it")
        check_replace(output, [model_dir])
    model, meta = load_swap_model(model_dir, "cpu")
    model.eval()
    ident = pick_identity(to, list(model.identities), meta, model_dir)
    res = int(model.resolution)
    coverage = float(meta.get("coverage") or DEFAULT_COVERAGE)
    up = load_detail(model_dir, ident, "cpu", res) if detail else None
    paste = write_graph(model, ident, up, coverage, output, format)
    return ExportSummary(output, format, ident, res, paste, coverage, time.perf_counter() - start)


def write_graph(model, ident: str, up, coverage: float, output: Path, format: str = "onnx") -> int:
    """Write the graph of `model` painting `ident` (with the detail upsampler `up`
    or None) to `output` atomically; returns the paste size P of its faces."""
    res = int(model.resolution)
    source = next((i for i in model.identities if i != ident), ident)
    paste = res * (up.scale if up is not None else 1)
    graph = _SwapGraph(model, ident, up, _face_mask(res, coverage)).eval()
    if format == "onnx":
        module, args = graph, (torch.rand(1, 3, res, res),)
        inputs, outputs = ["face"], ["swapped", "mask"]
        axes = {"face": {0: "n"}, "swapped": {0: "n"}, "mask": {0: "n"}}
    else:
        module, args = _DFMGraph(graph, source, paste).eval(), (torch.rand(1, paste, paste, 3), torch.ones(1))
        inputs, outputs = ["in_face:0", "morph_value:0"], ["out_face_mask:0", "out_celeb_face:0",
                                                           "out_celeb_face_mask:0"]
        axes = {"in_face:0": {0: "n"}, "out_face_mask:0": {0: "n"}, "out_celeb_face:0": {0: "n"},
                "out_celeb_face_mask:0": {0: "n"}}
    with atomic_path(output) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes about shape checks it folds away
        try:
            torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        except (RuntimeError, OSError) as e:
            raise write_error(e, output, "exporting the model") from None
        _stamp(tmp, {"faceswap_format": format, "resolution": str(res), "paste_size": str(paste),
                     "coverage": f"{coverage:g}", "identity": ident, "generator": f"faceswap {__version__}",
                     "synthetic_media": "true",
                     "note": "face-swap model: every image it makes is synthetic media; swap only faces of "
                             "people who agreed to it"})
    return paste


def _stamp(path: Path, props: dict[str, str]) -> None:
    import onnx  # the optional onnx extra

    m = onnx.load(str(path))
    for key, value in props.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(m, str(path))


def metadata(session) -> dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map)


def load_session(path: str | os.PathLike, threads: int = 1):
    """An ONNX Runtime session for a graph `faceswap export` wrote (either form).
    Raises FaceswapError naming the file for a missing, damaged or foreign one,
    or when onnxruntime (the onnx extra) is not installed."""
    try:
        import onnxruntime as ort  # the optional onnx extra
    except ImportError:
        raise FaceswapError("ONNX models need onnxruntime: pip install 'faceswap[onnx]'") from None
    path = Path(path)
    if not path.is_file():
        raise FaceswapError(f"{path}: no such ONNX file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for a broken file
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise FaceswapError(f"{path}: not a readable ONNX model ({first[:200]})") from None
    if metadata(session).get("faceswap_format") not in FORMATS:
        raise FaceswapError(f"{path}: not a model made by `faceswap export` (no faceswap metadata)")
    return session


class OnnxSwapper:
    """Runs an exported ``onnx`` graph: aligned crops at the model's resolution in,
    swapped faces at paste size and masks out (numpy, as FaceRenderer.swap gives)."""

    def __init__(self, path: str | os.PathLike, threads: int = 1):
        self.session = load_session(path, threads)
        meta = metadata(self.session)
        if meta.get("faceswap_format") != "onnx":
            raise FaceswapError(f"{path}: a {meta.get('faceswap_format')} file; export with --format onnx to run it here")
        self.resolution, self.paste_size = int(meta["resolution"]), int(meta["paste_size"])
        self.coverage, self.identity = float(meta["coverage"]), meta.get("identity", "")

    def swap(self, inputs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(r, r, 3) uint8 RGB crops -> [(face (P, P, 3) uint8, mask (r, r) float32)]."""
        if not inputs:
            return []
        x = np.ascontiguousarray(np.stack(inputs).transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        face, mask = self.session.run(None, {"face": x})
        face = (np.clip(face, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
        return list(zip(face, mask[:, 0].astype(np.float32)))
