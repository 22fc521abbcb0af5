"""`faceswap evaluate`: figures a user can act on after a swap.

1. Reconstruction quality of each identity on held-out faces: SSIM (Wang et
   al. 2004, 11x11 Gaussian window) and PSNR of decoder(encoder(face)) against
   the face. Low figures mean: train longer or use a larger preset.
2. Pose and expression kept: the mean distance between the five landmarks
   found in the original frame and in the swapped frame, as a fraction of the
   face size. Large values mean the swap drifts from the source's pose.
3. Temporal flicker in the face region: the mean absolute change between
   consecutive frames inside the face box (0-255 scale), swapped against
   original. A ratio well above 1 means the swap shimmers; turn on smoothing.
4. Sharpness against what a perfect model at the model's resolution scores,
   and identity: who a face recogniser takes the swapped face for.
5. What a viewer watches (from 468 Face Mesh landmarks, faceswap.landmarks):
   expression fidelity, the correlation over frames of the swap's mouth
   openness and eye openness with the original's (1 = follows every move);
   skin detail, the fine texture (pores, grain) over cheeks and forehead at
   256 px, swapped over original (well below 1 = wax); and the
   seam, the gradient energy along the outline of the pasted region over the
   original's there (1 = no edge; a hard paste scores well above 1).

`EvalReport.advice()` turns the figures that call for it into one line each
of what to do (the thresholds are read off the README's measured routes).
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from faceswap import identity as ident_mod
from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.extract.detect import Detector
from faceswap.extract.faceset import faceset_embeddings, faceset_reference
from faceswap.face_region import FrameRegion, has_region_model
from faceswap.landmarks import Landmarks, eye_openness, has_mesh, mouth_openness, skin_patches
from faceswap.quality import (correlation, face_sharpness, inner_box, skin_detail, perfect_crop, ratio,
                              seam_ratio)
from faceswap.runtime import pick_device
from faceswap.train import load_swap_model
from faceswap.train.data import load_faces
from faceswap.train.losses import ssim_map
from faceswap.video import FrameReader


@dataclass
class Reconstruction:
    identity: str
    faces: int
    ssim: float
    psnr: float
    faces_from: str  # "given faceset", "held out by training" or "training faceset (last tenth)"


@dataclass
class EvalReport:
    reconstruction: list[Reconstruction] = field(default_factory=list)
    frames: int = 0
    frames_with_faces: int = 0
    landmark_displacement: float | None = None  # mean over frames, fraction of face size
    flicker_original: float | None = None
    flicker_swapped: float | None = None
    sharpness: float | None = None          # swapped over original, face box at 96 px (1.0 = as sharp)
    sharpness_ceiling: float | None = None  # the same for a perfect model at the model's resolution
    inner_sharpness: float | None = None    # the same ratio on the eyes-to-mouth region only
    inner_ceiling: float | None = None
    mouth_correlation: float | None = None  # swapped against original mouth openness over frames
    eye_correlation: float | None = None
    seam: float | None = None               # gradient energy on the blend outline, swapped/original
    skin_detail: float | None = None        # fine texture over cheeks and forehead, swapped/original
    skin_ceiling: float | None = None
    resolution: int | None = None
    identity: dict = field(default_factory=dict)  # shares and median distances, or {"note": why not}

    @property
    def flicker_ratio(self) -> float | None:
        if not self.flicker_original or self.flicker_swapped is None:
            return None
        return self.flicker_swapped / self.flicker_original

    def to_dict(self) -> dict:
        d = asdict(self)
        d["flicker_ratio"] = self.flicker_ratio
        d["advice"] = self.advice()
        return d

    def advice(self) -> list[str]:
        """One line of what to do for each figure that calls for it (none for a good swap).
        The thresholds sit between the README's measured routes: a 5-minute model
        (23.5 % recognised as B, landmarks 4.9 %) against a 30-minute one from a
        prior (100 %, 2.4 %)."""
        tips = []
        ident = self.identity
        if ident and "note" not in ident:
            to, src = ident["to"], ident["source"]
            if ident["share_to"] < 0.9:
                tips.append(f"{to} recognised on only {100 * ident['share_to']:.0f} % of frames: train longer, "
                            f"or start a new model from a prior (train --init prior128)")
            if ident["share_source"] > 0.05:
                tips.append(f"{src} still recognised on {100 * ident['share_source']:.0f} % of frames: train longer; "
                            f"with a detail upsampler, a lower convert --sharpen shows less of {src}'s face")
        for r in self.reconstruction:
            if r.ssim < 0.75:
                tips.append(f"{r.identity} is redrawn at SSIM {r.ssim:.2f}: the model has not learnt that face "
                            "yet; train longer")
        if self.landmark_displacement is not None and self.landmark_displacement > 0.04:
            tips.append(f"landmarks move {100 * self.landmark_displacement:.1f} % of the face size: the swap "
                        "drifts from the source's expression; resume training with --no-warp")
        if self.inner_sharpness is not None and self.inner_ceiling and self.inner_sharpness < 0.5 * self.inner_ceiling:
            tips.append(f"eyes to mouth are {self.inner_sharpness:.2f} against {self.inner_ceiling:.2f} for a "
                        f"perfect {self.resolution} px model: resume with --no-warp, then train a detail "
                        "upsampler (faceswap refine)")
        if self.mouth_correlation is not None and self.mouth_correlation < 0.9:
            tips.append(f"the mouth follows the source's at correlation {self.mouth_correlation:.2f}: resume "
                        "training with --no-warp")
        if self.seam is not None and self.seam > 1.1:
            tips.append(f"an edge shows where the pasted face ends (seam {self.seam:.2f}): convert with "
                        "--face-region (the default where weights/face_region is installed) or a larger --mask-blur")
        if self.skin_detail is not None and self.skin_ceiling and self.skin_detail < 0.5 * self.skin_ceiling:
            tips.append(f"cheeks and forehead are smooth ({self.skin_detail:.2f} against {self.skin_ceiling:.2f} "
                        f"for a perfect {self.resolution} px model): train a detail upsampler (faceswap refine)")
        if self.skin_detail is not None and self.skin_detail > 2.0:
            tips.append(f"cheeks and forehead hold {self.skin_detail:.1f} times the fine texture of the video around "
                        "them (noise or blotches): train longer, or convert with --sharpen 0")
        if self.flicker_ratio is not None and self.flicker_ratio > 1.5:
            tips.append(f"the face flickers {self.flicker_ratio:.1f} times as much as the original: convert with "
                        "--smooth (the default) and --alignments from extract")
        return tips

    def table(self) -> str:
        rows = ["metric                               value"]
        for r in self.reconstruction:
            rows.append(f"SSIM  {r.identity} -> {r.identity}".ljust(37) + f"{r.ssim:.4f}   ({r.faces} faces: {r.faces_from})")
            rows.append(f"PSNR  {r.identity} -> {r.identity} (dB)".ljust(37) + f"{r.psnr:.2f}")
        if self.landmark_displacement is not None:
            rows.append("landmark displacement (% face size)".ljust(37) + f"{100 * self.landmark_displacement:.2f}")
        if self.flicker_original is not None:
            rows.append("flicker in face, original".ljust(37) + f"{self.flicker_original:.3f}")
            rows.append("flicker in face, swapped".ljust(37) + f"{self.flicker_swapped:.3f}")
            rows.append("flicker ratio swapped/original".ljust(37) + f"{self.flicker_ratio:.3f}")
        if self.sharpness is not None:
            rows.append("sharpness swapped/original, face box".ljust(37) + f"{self.sharpness:.3f}")
        if self.sharpness_ceiling is not None:
            rows.append(f"  a perfect {self.resolution} px model".ljust(37) + f"{self.sharpness_ceiling:.3f}")
        if self.inner_sharpness is not None:
            rows.append("sharpness, eyes to mouth".ljust(37) + f"{self.inner_sharpness:.3f}")
        if self.inner_ceiling is not None:
            rows.append(f"  a perfect {self.resolution} px model".ljust(37) + f"{self.inner_ceiling:.3f}")
        if self.mouth_correlation is not None:
            rows.append("mouth openness follows (correlation)".ljust(37) + f"{self.mouth_correlation:.3f}")
        if self.eye_correlation is not None:
            rows.append("eye openness follows (correlation)".ljust(37) + f"{self.eye_correlation:.3f}")
        if self.seam is not None:
            rows.append("seam swapped/original".ljust(37) + f"{self.seam:.3f}")
        if self.skin_detail is not None:
            rows.append("skin detail, cheeks and forehead".ljust(37) + f"{self.skin_detail:.3f}")
        if self.skin_ceiling is not None:
            rows.append(f"  a perfect {self.resolution} px model".ljust(37) + f"{self.skin_ceiling:.3f}")
        ident = self.identity
        if "note" in ident:
            rows.append("identity".ljust(37) + ident["note"])
        elif ident:
            to, src = ident["to"], ident["source"]
            rows.append(f"frames recognised as {to} (d < {ident['threshold']})".ljust(37) + f"{100 * ident['share_to']:.1f} %")
            rows.append(f"frames still recognised as {src}".ljust(37) + f"{100 * ident['share_source']:.1f} %")
            rows.append(f"median distance to {to}".ljust(37) + f"{ident['median_to']:.3f}   (real {to} faces: {ident['real_to']:.3f})")
            rows.append(f"median distance to {src}".ljust(37) + f"{ident['median_source']:.3f}"
                        + (f"   ({to} and {src} lie {ident['pair_distance']:.3f} apart)" if "pair_distance" in ident else ""))
            if "nearer_to" in ident:
                rows.append(f"frames nearer {to} than {src}".ljust(37) + f"{100 * ident['nearer_to']:.1f} %")
        rows.append(f"frames compared                      {self.frames_with_faces}/{self.frames}")
        rows += [f"advice: {tip}" for tip in self.advice()]
        return "\n".join(rows)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of x, y: (B, C, H, W) in [0, 1]."""
    mse = ((x - y) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image mean SSIM of x, y: (B, C, H, W) in [0, 1]."""
    return ssim_map(x, y).flatten(1).mean(1)


def reconstruction(model, images: np.ndarray, identity: str, device: torch.device,
                   batch_size: int = 32, faces_from: str = "given faceset") -> Reconstruction:
    """SSIM and PSNR of the model's reconstruction of `images` (N, S, S, 3) uint8."""
    res = model.resolution
    scores_s, scores_p = [], []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(images[i:i + batch_size]).to(device).permute(0, 3, 1, 2).float() / 255
            if x.shape[-1] != res:
                x = torch.nn.functional.interpolate(x, size=(res, res), mode="area")
            face, _ = model.decode(model.encode(x), identity)
            face = face.float().clamp(0, 1)
            scores_s.append(ssim(face, x).cpu())
            scores_p.append(psnr(face, x).cpu())
    return Reconstruction(identity, len(images), float(torch.cat(scores_s).mean()),
                          float(torch.cat(scores_p).mean()), faces_from)


@dataclass
class _Frames:
    """Per-frame measurements of a swapped video against its source."""

    frames: int = 0
    both: int = 0
    displacement: list = field(default_factory=list)
    flicker_a: list = field(default_factory=list)
    flicker_b: list = field(default_factory=list)
    sharp_original: list = field(default_factory=list)
    sharp_swapped: list = field(default_factory=list)
    sharp_ceiling: list = field(default_factory=list)
    inner_original: list = field(default_factory=list)
    inner_swapped: list = field(default_factory=list)
    inner_ceiling: list = field(default_factory=list)
    embeddings: list = field(default_factory=list)
    mouth_a: list = field(default_factory=list)
    mouth_b: list = field(default_factory=list)
    eye_a: list = field(default_factory=list)
    eye_b: list = field(default_factory=list)
    seam: list = field(default_factory=list)
    skin_original: list = field(default_factory=list)
    skin_swapped: list = field(default_factory=list)
    skin_ceiling: list = field(default_factory=list)


def compare_videos(original: Path, swapped: Path, device: torch.device, every: int = 1, batch: int = 8,
                   resolution: int | None = None, coverage: float | None = None, embedder=None) -> _Frames:
    """Landmarks, flicker, sharpness and (with `embedder`) identity of `swapped` against `original`.

    Flicker and sharpness are measured inside the original's face box of each
    frame; the sharpness ceiling (with `resolution`) is the same measure on the
    original with its face replaced by a perfect `resolution` px crop.
    """
    a, b = FrameReader(original, every=every), FrameReader(swapped, every=every)
    if (a.info.width, a.info.height) != (b.info.width, b.info.height):
        raise FaceswapError(f"{swapped}: frame size {b.info.width}x{b.info.height} differs from "
                            f"{original} ({a.info.width}x{a.info.height}); compare a swap with its own source")
    detector = Detector(device=device)
    marks = Landmarks() if has_mesh() else None
    skin_of = FrameRegion() if marks is not None and has_region_model() else None
    out = _Frames()
    prev: tuple[np.ndarray, np.ndarray] | None = None
    pending: list[tuple[np.ndarray, np.ndarray]] = []

    def flush() -> None:
        nonlocal prev
        found_a = detector.detect([p[0] for p in pending])
        found_b = detector.detect([p[1] for p in pending])
        # Dense landmarks of every frame pair with a face in both, in one batch through the mesh
        # model. Both frames go through the original's crop: the swap is pasted in the original's
        # pose, and one crop for both keeps the detector's jitter out of the comparison.
        both = [k for k, (fa, fb) in enumerate(zip(found_a, found_b)) if len(fa) and len(fb)]
        mesh: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        skin: dict[int, np.ndarray] = {}  # the original's face region: the skin patches stay on skin
        if marks is not None and both:
            fives = [found_a[k].landmarks[0] for k in both]
            pts = marks.on_frames([pending[k][0] for k in both] + [pending[k][1] for k in both], fives + fives)
            mesh = {k: (pts[j], pts[len(both) + j]) for j, k in enumerate(both)}
            if skin_of is not None:
                skin.update(zip(both, skin_of([pending[k][0] for k in both], fives)))
        for k, ((img_a, img_b), fa, fb) in enumerate(zip(pending, found_a, found_b)):
            if len(fa) == 0:
                prev = None
                continue
            box = fa.boxes[0]
            size = float(fa.sizes[0])
            perfect = perfect_crop(img_a, fa.landmarks[0], resolution, coverage) if resolution else None
            out.seam.append(seam_ratio(img_a, img_b, box))
            if k in mesh:
                ma, mb = mesh[k]
                out.mouth_a.append(float(mouth_openness(ma[None])[0]))
                out.mouth_b.append(float(mouth_openness(mb[None])[0]))
                out.eye_a.append(float(eye_openness(ma[None])[0]))
                out.eye_b.append(float(eye_openness(mb[None])[0]))
                patches, keep = skin_patches(ma), skin.get(k)
                out.skin_original.append(skin_detail(img_a, box, patches, keep))
                out.skin_swapped.append(skin_detail(img_b, box, patches, keep))
                if perfect is not None:
                    out.skin_ceiling.append(skin_detail(perfect, box, patches, keep))
            if len(fb):
                out.both += 1
                out.displacement.append(float(np.linalg.norm(fa.landmarks[0] - fb.landmarks[0], axis=1).mean() / size))
                if embedder is not None:
                    out.embeddings.append(embedder.embed(img_b, fb.boxes[:1])[0])
            inner = inner_box(fa.landmarks[0])
            for image, whole, part in ((img_a, out.sharp_original, out.inner_original),
                                       (img_b, out.sharp_swapped, out.inner_swapped)):
                w, p = face_sharpness(image, box, inner)
                whole.append(w)
                part.append(p)
            if perfect is not None:
                w, p = face_sharpness(perfect, box, inner)
                out.sharp_ceiling.append(w)
                out.inner_ceiling.append(p)
            x1, y1 = int(max(box[0], 0)), int(max(box[1], 0))
            x2, y2 = int(math.ceil(box[2])), int(math.ceil(box[3]))
            if prev is not None:
                pa, pb = prev
                region = (slice(y1, y2), slice(x1, x2))
                out.flicker_a.append(float(np.abs(img_a[region].astype(np.int16) - pa[region]).mean()))
                out.flicker_b.append(float(np.abs(img_b[region].astype(np.int16) - pb[region]).mean()))
            prev = (img_a, img_b)
        pending.clear()

    for fa, fb in itertools.zip_longest(a, b):
        if fa is None or fb is None:
            raise FaceswapError(f"{swapped}: frame count differs from {original}; compare a swap with its own source")
        out.frames += 1
        pending.append((fa.image, fb.image))
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    return out


def _faces(folder: Path, resolution: int, fraction: float | None) -> np.ndarray:
    """A faceset's faces (N, S, S, 3) uint8: all of them, or the last `fraction`
    by frame order (the part a training run with that holdout never saw)."""
    faces = load_faces(folder, resolution)
    images = faces.images.numpy() if torch.is_tensor(faces.images) else np.asarray(faces.images)
    if images.shape[-1] != 3:  # stored as (N, 3, S, S)
        images = images.transpose(0, 2, 3, 1)
    if fraction:
        images = images[-max(1, int(round(len(images) * fraction))):]
    return np.ascontiguousarray(images)


def _identity(frames: _Frames, embedder, folders: dict[str, Path], to: str, source: str) -> dict:
    """Share of swapped frames within the same-person threshold of each faceset's
    mean embedding, and the median distances (see faceswap.identity)."""
    if embedder is None:
        return {"note": "not measured: install the face-recognition model with pip install \"faceswap[identity]\""}
    if to not in folders or source not in folders:
        return {"note": "not measured: pass --faces-a and --faces-b (the model's facesets are gone)"}
    if not frames.embeddings:
        return {"note": "not measured: no face found in the swapped frames"}
    ref_to, ref_src = (faceset_reference(folders[k], embedder) for k in (to, source))
    emb = np.stack(frames.embeddings)
    d_to, d_src = ident_mod.distances(emb, ref_to), ident_mod.distances(emb, ref_src)
    # how far B's own faces lie from B's mean: the best a swap can hope for
    real = ident_mod.distances(faceset_embeddings(folders[to], embedder, 32), ref_to)
    limit = ident_mod.THRESHOLD
    return {"to": to, "source": source, "threshold": limit, "faces": int(len(emb)),
            "share_to": float((d_to < limit).mean()), "share_source": float((d_src < limit).mean()),
            "median_to": float(np.median(d_to)), "median_source": float(np.median(d_src)),
            "real_to": float(np.median(real)),
            # for two people who look alike (means closer than about twice the threshold) a face
            # half way between them is "recognised" as both: which one it is nearer tells more
            "nearer_to": float((d_to < d_src).mean()), "pair_distance": float(np.linalg.norm(ref_to - ref_src))}


def evaluate(original: str | os.PathLike, swapped: str | os.PathLike, model_dir: str | os.PathLike, *,
             faces_a: str | os.PathLike | None = None, faces_b: str | os.PathLike | None = None,
             every: int = 1, device: str | None = None, to: str | None = None,
             identity: bool = True) -> EvalReport:
    """Compare a swapped video with its source and score the model's reconstructions.

    Reconstruction is scored on `faces_a`/`faces_b` when given (all their
    faces: pass facesets the model never saw). Otherwise on the facesets
    recorded in the model's config: the part training held out (config
    `holdout`), or else their last tenth, reported as training faces.
    Identity (who the swapped face looks like; needs the `identity` extra) is
    measured against the same facesets; `to` is the identity painted in
    (default: the model's second). Sharpness is always measured.
    """
    dev = pick_device(device)
    for path in (original, swapped):
        if not Path(path).exists():
            raise FaceswapError(f"{path}: no such file")
    model, meta = load_swap_model(model_dir, dev)
    report = EvalReport(resolution=int(model.resolution))
    holdout = float(meta.get("holdout", 0.0) or 0.0)
    ids = list(meta.get("identities", model.identities))
    to = to or ids[-1]
    if to not in ids:
        raise FaceswapError(f"--to {to!r}: {model_dir} has identities {', '.join(ids)}")
    source = next(i for i in ids if i != to) if len(ids) > 1 else to
    folders: dict[str, Path] = {}
    for name, given, key in zip(ids, (faces_a, faces_b), ("faceset_a", "faceset_b")):
        if given is not None:
            folder, fraction, label = Path(given), None, "given faceset"
        elif isinstance(meta.get(key), str) and Path(meta[key]).is_dir():
            folder = Path(meta[key])
            fraction, label = (holdout, "held out by training") if holdout else (0.1, "training faceset (last tenth)")
        else:
            continue
        folders[name] = folder
        images = _faces(folder, model.resolution, fraction)
        report.reconstruction.append(reconstruction(model, images, name, dev, faces_from=label))
    embedder = ident_mod.FaceEmbedder() if identity and ident_mod.available() else None
    coverage = float(meta.get("coverage") or DEFAULT_COVERAGE)
    frames = compare_videos(Path(original), Path(swapped), dev, every, resolution=int(model.resolution),
                            coverage=coverage, embedder=embedder)
    mean = lambda v: float(np.mean(v)) if v else None  # noqa: E731
    report.frames, report.frames_with_faces = frames.frames, frames.both
    report.landmark_displacement = mean(frames.displacement)
    report.flicker_original, report.flicker_swapped = mean(frames.flicker_a), mean(frames.flicker_b)
    report.sharpness = ratio(frames.sharp_swapped, frames.sharp_original)
    report.sharpness_ceiling = ratio(frames.sharp_ceiling, frames.sharp_original)
    report.inner_sharpness = ratio(frames.inner_swapped, frames.inner_original)
    report.inner_ceiling = ratio(frames.inner_ceiling, frames.inner_original)
    report.mouth_correlation = correlation(frames.mouth_a, frames.mouth_b)
    report.eye_correlation = correlation(frames.eye_a, frames.eye_b)
    report.seam = float(np.median(frames.seam)) if frames.seam else None
    report.skin_detail = ratio(frames.skin_swapped, frames.skin_original)
    report.skin_ceiling = ratio(frames.skin_ceiling, frames.skin_original)
    if identity:
        report.identity = _identity(frames, embedder, folders, to, source)
    return report
