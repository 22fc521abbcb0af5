"""`refine()`: train a person's detail upsampler inside a swap model directory.

The swap model draws B at its resolution r (64 px for `lightweight`). The
detail upsampler (faceswap.models.refine) learns to turn what B's decoder
draws into B's real face at scale*r: its input is the model's B -> B
reconstruction of each of B's faces, its target that face's real crop from the
faceset (256 px on disk). At convert time the same network upscales A -> B, so
the painted face gains B's own detail (eyes, lips, teeth, skin) instead of a
bilinear blur.

Stored as `<model_dir>/detail_<identity>/` (config.json + model.safetensors +
trainer.pt: the generic fit loop's checkpoint), so it resumes like training,
and convert finds it by name.

Training samples are random aligned patches (a quarter of the face side), with
flips and a little extra blur on the input, so that the network also sharpens
the slightly softer faces a swap produces rather than only B's own
reconstructions, which the model has memorised.
"""

from __future__ import annotations

import time as _time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from faceswap.errors import FaceswapError
from faceswap.extract.faceset import load_faceset
from faceswap.models import ModelError, load_model, read_model_config
from faceswap.models.refine import DetailUpsampler
from faceswap.runtime import pick_device, pick_threads
from faceswap.train.checkpoint import load_swap_model
from faceswap.training import Callback, fit

DETAIL_PREFIX = "detail_"


def detail_dir(model_dir: str | Path, identity: str) -> Path:
    return Path(model_dir) / f"{DETAIL_PREFIX}{identity}"


def has_detail(model_dir: str | Path, identity: str) -> bool:
    """Whether the model directory holds a detail upsampler of `identity`."""
    return (detail_dir(model_dir, identity) / "model.safetensors").is_file()


def check_detail_resolution(folder: Path, resolution: int) -> None:
    """Refuse an upsampler taught on another model's faces (a model directory
    retrained at another resolution keeps its old detail_* folder): it would
    enlarge faces of the wrong size, or silently fit a different model."""
    try:
        made_for = (read_model_config(folder).get("extra") or {}).get("faceswap", {}).get("resolution")
    except ModelError as e:
        raise FaceswapError(f"{folder}: damaged detail upsampler ({str(e).splitlines()[0]}); "
                            "run `faceswap refine` again") from None
    if made_for is not None and int(made_for) != int(resolution):
        raise FaceswapError(f"{folder}: this detail upsampler was trained for a {made_for} px model, the model is "
                            f"{resolution} px; delete {folder} and run `faceswap refine` again, or pass --no-detail")


def load_detail(model_dir: str | Path, identity: str, device: str | torch.device = "cpu",
                resolution: int | None = None):
    """The detail upsampler of `identity` in eval mode, or None when the model has none.
    resolution: the swap model's, checked against the one the upsampler was trained for."""
    folder = detail_dir(model_dir, identity)
    if not has_detail(model_dir, identity):
        return None
    if resolution is not None:
        check_detail_resolution(folder, resolution)
    try:
        net = load_model(folder, map_location=device)
    except ModelError as e:
        raise FaceswapError(f"{folder}: damaged detail upsampler ({e}); run `faceswap refine` again") from None
    return net.eval()


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-image Gaussian blur (sigma (B,) in low-res pixels; 0 leaves an image as is)."""
    r = 2
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma.clamp_min(1e-3)[:, None] ** 2))
    k = k / k.sum(1, keepdim=True)
    b, c, h, w = x.shape
    xp = F.pad(x.reshape(1, b * c, h, w), (r, r, r, r), mode="replicate")
    kx = k.repeat_interleave(c, 0)[:, None, None, :]
    ky = k.repeat_interleave(c, 0)[:, None, :, None]
    out = F.conv2d(F.conv2d(xp, kx, groups=b * c), ky, groups=b * c)
    return out.reshape(b, c, h, w)


def refine(
    model_dir: str | Path,
    *,
    identity: str | None = None,
    faces: str | Path | None = None,
    scale: int | None = None,
    steps: int | None = None,
    time: float | None = None,
    cpu_time: float | None = None,
    batch_size: int = 16,
    lr: float = 1e-3,
    device: str | None = None,
    threads: int | str | None = "auto",
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train (or resume) the detail upsampler of `identity` (default: the model's
    second, the face a swap paints) on its faceset (default: the one the model
    was trained on). Stops after `steps` (a total), `time` wall seconds or
    `cpu_time` process CPU seconds, whichever comes first (default 2000 steps).
    scale: 2 or 4; default the larger one the faceset's crops can teach (x4 for
    a 64 px model on 256 px crops, x2 for a 128 px one), i.e. up to the size
    faces are pasted at.
    threads: torch CPU threads, or "auto" (None too): time a step on one
    thread and on every core and keep the faster, as train does.
    Returns a summary dict. Raises FaceswapError for user-fixable problems.
    """
    dev = pick_device(device)
    model, meta = load_swap_model(model_dir, dev)
    identity = identity or model.identities[-1]
    if identity not in model.identities:
        raise FaceswapError(f"--to {identity!r}: {model_dir} has identities {', '.join(model.identities)}")
    index = model.identities.index(identity)
    recorded = meta.get(f"faceset_{'ab'[index]}") or "."
    if faces is None and not isinstance(recorded, str):
        raise FaceswapError(f"{model_dir}: trained on several facesets (a prior?); pass the person's faceset with --faces")
    folder = Path(faces) if faces is not None else Path(recorded)
    if faces is None and not (folder / "alignments.json").is_file():
        raise FaceswapError(f"{model_dir}: the faceset of {identity!r} is gone ({folder}); pass --faces")
    res = int(model.resolution)
    images, _ = load_faceset(folder)
    side = images.shape[1]
    if scale is None:
        scale = 4 if side >= res * 4 else 2
    if side < res * scale:
        raise FaceswapError(f"{folder}: faces are {side} px; a x{scale} upsampler of a {res} px model needs "
                            f"{res * scale} px crops (re-extract with --size {res * scale} or use --scale 2)")
    hr_side = res * scale
    hr = np.stack([cv2.resize(im, (hr_side, hr_side), interpolation=cv2.INTER_AREA) if side != hr_side else im
                   for im in images])
    lo = np.stack([cv2.resize(im, (res, res), interpolation=cv2.INTER_AREA) for im in images])
    # the model's own drawing of each face: the kind of input the upsampler gets at convert time
    recon = []
    with torch.inference_mode():
        for i in range(0, len(lo), 64):
            x = torch.from_numpy(lo[i:i + 64]).to(dev).permute(0, 3, 1, 2).float() / 255
            recon.append(model.decode(model.encode(x), identity)[0].float().cpu())
    inputs = torch.cat(recon)
    targets = torch.from_numpy(hr).permute(0, 3, 1, 2).contiguous()  # uint8, kept small
    del model

    patch = max(8, res // 4)
    n = len(inputs)

    def batches(step: int):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        idx = torch.randint(0, n, (batch_size,), generator=g)
        ys = torch.randint(0, res - patch + 1, (batch_size,), generator=g)
        xs = torch.randint(0, res - patch + 1, (batch_size,), generator=g)
        flip = torch.rand(batch_size, generator=g) < 0.5
        sigma = torch.rand(batch_size, generator=g) * 0.8 * (torch.rand(batch_size, generator=g) < 0.6)
        x_list, t_list = [], []
        for i, y0, x0, f in zip(idx.tolist(), ys.tolist(), xs.tolist(), flip.tolist()):
            x = inputs[i, :, y0:y0 + patch, x0:x0 + patch]
            t = targets[i, :, y0 * scale:(y0 + patch) * scale, x0 * scale:(x0 + patch) * scale].float() / 255
            if f:
                x, t = x.flip(-1), t.flip(-1)
            x_list.append(x)
            t_list.append(t)
        x = _blur(torch.stack(x_list), sigma)
        return {"x": x, "target": torch.stack(t_list)}

    out_dir = detail_dir(model_dir, identity)
    if (out_dir / "config.json").is_file():  # resuming: only an upsampler of this model's resolution
        check_detail_resolution(out_dir, res)
    net = DetailUpsampler({"scale": scale})
    if dev.type == "cpu":
        def probe() -> None:
            net(**batches(0)).loss.backward()
            net.zero_grad(set_to_none=True)

        _, how = pick_threads(threads, probe)
        if progress:
            print(f"refine: torch threads {how}", flush=True)
    elif threads not in (None, "auto"):
        torch.set_num_threads(int(threads))
    t0, c0 = _time.perf_counter(), _time.process_time()

    def budget(state) -> None:
        if cpu_time is not None and _time.process_time() - c0 >= cpu_time:
            state.stop = True

    if steps is None:
        steps = 10**9 if (time is not None or cpu_time is not None) else 2000
    state = fit(net, batches, steps=steps, lr=lr, device=dev, seed=seed, grad_clip=1.0,
                checkpoint_dir=out_dir, checkpoint_every=500, callbacks=[Callback(10, budget)],
                progress=progress, time_budget=time, desc=f"refine {identity}",
                extra={"faceswap": {"identity": identity, "resolution": res, "scale": scale,
                                    "faceset": str(folder.resolve())}})
    return {"dir": out_dir, "identity": identity, "step": state.step, "seconds": _time.perf_counter() - t0,
            "loss": state.parts}
