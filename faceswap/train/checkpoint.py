"""The swap model directory: save, load, resume checks.

    config.json        save_model's config; extra["faceswap"] = {preset, resolution, coverage,
                       identities, step, mask, faceset_a, faceset_b, loss}
    model.safetensors  weights (never a pickle)
    trainer.pt         faceswap.training's trainer state (optimizer, step, RNG, loss history):
                       plain data only, loaded with torch.load(weights_only=True)
    preview.png        the latest preview grid

Every file is written to a temporary name and renamed, weights first, so a run
killed mid-save leaves the previous complete checkpoint (or, between files, new
weights with a trainer state one save older, which still resumes). A kill
during the first save can leave weights without config.json: the next run
recognises that folder as unfinished and starts over; stale temp files of
killed saves are removed on the next run.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

from faceswap.errors import FaceswapError
from faceswap.fileio import OUTPUT_MARKER, check_writable, made_by_faceswap, remove_stale_temps

TRAINER_FILE = "trainer.pt"
# every file a model directory holds; nothing else is deleted from one
MODEL_FILES = ("config.json", "model.safetensors", TRAINER_FILE, "preview.png", "discriminator.safetensors")


MIN_FACES = 25  # below this a decoder mostly memorises its few faces


def warn_facesets(fa, fb) -> None:
    """Warn (one line each) about facesets that train a useless model without failing:
    too few faces, or the same faceset for A and B."""
    if Path(fa.path).resolve() == Path(fb.path).resolve():
        warnings.warn(f"{fa.path}: the same faceset is given for A and B; the model will learn no swap")
    for fs in (fa, fb):
        if len(fs) < MIN_FACES:
            warnings.warn(f"{fs.path}: only {len(fs)} faces; a swap model needs a few hundred "
                          f"(at least {MIN_FACES}) for a usable result")


def model_meta(preset: str, resolution: int, fa, fb, mask: bool, loss: str, step: int) -> dict:
    """The extra["faceswap"] block of config.json."""
    coverage = fa.coverage if fa.coverage is not None else fb.coverage
    return {
        "preset": preset,
        "resolution": int(resolution),
        "coverage": coverage,
        "identities": ["a", "b"],
        "step": int(step),
        "mask": bool(mask),
        "faceset_a": str(Path(fa.path).resolve()),
        "faceset_b": str(Path(fb.path).resolve()),
        "loss": loss,
    }


def save_checkpoint(model_dir: Path, model, optimizer: torch.optim.Optimizer, state, meta: dict,
                    scaler=None) -> None:
    """Weights + config.json, then trainer.pt, each atomic: faceswap.training's checkpoint
    format (the generic loop's), with our metadata under extra["faceswap"]."""
    from faceswap.training import save_checkpoint as save_fit_checkpoint

    save_fit_checkpoint(Path(model_dir), model, optimizer, state, scaler, extra={"faceswap": meta})


def load_swap_model(model_dir: str | Path, device: str | torch.device = "cpu"):
    """(SwapAutoEncoder in eval mode on `device`, meta dict) from a model directory.

    Raises FaceswapError (naming the file) for a folder that is not a swap model
    or whose files are corrupt.
    """
    from faceswap.models import ModelError, load_model, read_model_config
    from faceswap.models.swap import SwapAutoEncoder

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FaceswapError(f"{model_dir}: model directory not found; train one with `faceswap train A B -m {model_dir}`")
    try:
        doc = read_model_config(model_dir)
        if doc.get("type") != "SwapAutoEncoder":
            raise FaceswapError(
                f"{model_dir / 'config.json'}: holds a {doc.get('type')} model, not a face-swap model; "
                "use a directory made by `faceswap train`"
            )
        model = load_model(model_dir, map_location=device)
    except ModelError as e:
        raise FaceswapError(str(e).splitlines()[0]) from None
    if not isinstance(model, SwapAutoEncoder):
        raise FaceswapError(f"{model_dir / 'config.json'}: not a face-swap model")
    meta = dict(doc.get("extra", {}).get("faceswap", {}))
    meta.setdefault("resolution", model.resolution)
    meta.setdefault("identities", list(model.identities))
    meta.setdefault("mask", model.has_mask)
    meta.setdefault("step", 0)
    return model, meta


def resume_meta(model_dir: Path, preset: str, resolution: int | None, mask: bool) -> dict | None:
    """None for a new (absent or empty) model directory; the saved meta when it can be resumed.

    Refuses (FaceswapError) a folder that is not a swap model, or a model of
    another preset, resolution or mask setting than asked for.
    """
    model_dir = Path(model_dir)
    if model_dir.exists() and not model_dir.is_dir():
        raise FaceswapError(f"{model_dir}: is a file, not a model directory; choose another --model-dir")
    check_writable(model_dir)
    # temp files of saves a kill interrupted (each as large as the weights or the optimizer state)
    remove_stale_temps(model_dir, rf"\.({'|'.join(re.escape(n) for n in MODEL_FILES)})\..+\.tmp.*")
    if not model_dir.is_dir() or not any(p for p in model_dir.iterdir() if not p.name.startswith(".")):
        return None
    if (not (model_dir / "config.json").is_file() and made_by_faceswap(model_dir)
            and all(p.name in (*MODEL_FILES, OUTPUT_MARKER) for p in model_dir.iterdir())):
        # config.json is written after the weights: without it, the first save never finished.
        # Only in a folder this program marked when it made it: these names are common ones.
        warnings.warn(f"{model_dir}: the first checkpoint was never finished (no config.json); starting over")
        for name in MODEL_FILES:
            (model_dir / name).unlink(missing_ok=True)
        return None
    if not (model_dir / "config.json").is_file():
        raise FaceswapError(
            f"{model_dir}: folder is not empty and holds no config.json, so it is not a swap model to resume; "
            "choose an empty or new --model-dir"
        )
    _, meta = load_swap_model(model_dir, "cpu")
    saved = meta.get("preset")
    wants = {"preset": (saved, preset), "mask": (bool(meta.get("mask")), bool(mask))}
    if resolution is not None:
        wants["resolution"] = (int(meta["resolution"]), int(resolution))
    for key, (have, asked) in wants.items():
        if have is not None and have != asked:
            if key == "mask":
                what, flag = ("with a mask", "--mask") if have else ("without a mask", "no --mask")
            else:
                what, flag = f"with {key} {have}, not {asked}", f"--{key} {have}"
            raise FaceswapError(f"{model_dir / 'config.json'}: this model was trained {what}; "
                                f"resume with {flag} or use a new --model-dir")
    return meta


def load_trainer_state(model_dir: Path, optimizer: torch.optim.Optimizer) -> tuple[list[dict], dict | None]:
    """Load trainer.pt's optimizer state into `optimizer`; returns its loss history
    ([] if absent) and the fp16 loss scaler's state (None when it had none).

    A corrupt or foreign trainer.pt is a FaceswapError naming the file.
    """
    from faceswap.models import ModelError
    from faceswap.training import load_trainer_state as load_fit_state

    path = Path(model_dir) / TRAINER_FILE
    if not path.is_file():
        return [], None
    try:
        state = load_fit_state(model_dir)
        optimizer.load_state_dict(state["optimizer"])
    except ModelError as e:
        raise FaceswapError(str(e).splitlines()[0]) from None
    except (ValueError, KeyError) as e:
        raise FaceswapError(
            f"{path}: trainer state does not fit this model ({type(e).__name__}); deleting it resumes the weights "
            "at their step with a fresh optimizer; to start over, use a new or empty --model-dir"
        ) from None
    return list(state.get("history") or []), state.get("scaler")


def export_compact(model_dir: str | Path, out: str | Path) -> None:
    """Copy a trained model directory (and its detail upsamplers) to `out` in the
    form shipped models take: compact weights (faceswap.models.compact: 4 or 8
    bits per weight, loading expands them) and no optimizer state."""
    import shutil

    from safetensors.torch import load_file, save_file

    from faceswap.fileio import atomic_path
    from faceswap.models.compact import pack, unpack

    model_dir, out = Path(model_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = pack(unpack(load_file(model_dir / "model.safetensors")))  # a shipped model can be exported again
    with atomic_path(out / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    for name in ("config.json", "preview.png"):
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, out / name)
    for sub in model_dir.glob("detail_*"):
        if (sub / "model.safetensors").is_file():
            export_compact(sub, out / sub.name)
