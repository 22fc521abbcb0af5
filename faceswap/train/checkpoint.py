"""The swap model directory: save, load, resume checks.

    config.json        save_model's config; extra["faceswap"] = {preset, resolution, coverage,
                       identities, step, mask, faceset_a, faceset_b, loss}
    model.safetensors  weights (never a pickle)
    trainer.pt         faceswap.training's trainer state (optimizer, step, RNG, loss history):
                       plain data only, loaded with torch.load(weights_only=True)
    preview.png        the latest preview grid

Every file is written to a temporary name and renamed, weights first, so a run
killed mid-save leaves the previous complete checkpoint (or, between files, new
weights with a trainer state one save older, which still resumes).
"""

from __future__ import annotations

from pathlib import Path

import torch

from faceswap.errors import FaceswapError
from faceswap.fileio import check_writable

TRAINER_FILE = "trainer.pt"


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


def save_checkpoint(model_dir: Path, model, optimizer: torch.optim.Optimizer, state, meta: dict) -> None:
    """Weights + config.json, then trainer.pt, each atomic: faceswap.training's checkpoint
    format (the generic loop's), with our metadata under extra["faceswap"]."""
    from faceswap.training import save_checkpoint as save_fit_checkpoint

    save_fit_checkpoint(Path(model_dir), model, optimizer, state, None, extra={"faceswap": meta})


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
    if not model_dir.is_dir() or not any(p for p in model_dir.iterdir() if not p.name.startswith(".")):
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
            raise FaceswapError(
                f"{model_dir / 'config.json'}: this model was trained with {key} {have}, not {asked}; "
                f"resume with --{key if key != 'mask' else 'mask/--no-mask'} {have} or use a new --model-dir"
            )
    return meta


def load_trainer_state(model_dir: Path, optimizer: torch.optim.Optimizer) -> list[dict]:
    """Load trainer.pt's optimizer state into `optimizer`; returns its loss history ([] if absent).

    A corrupt or foreign trainer.pt is a FaceswapError naming the file.
    """
    from faceswap.models import ModelError
    from faceswap.training import load_trainer_state as load_fit_state

    path = Path(model_dir) / TRAINER_FILE
    if not path.is_file():
        return []
    try:
        state = load_fit_state(model_dir)
        optimizer.load_state_dict(state["optimizer"])
    except ModelError as e:
        raise FaceswapError(str(e).splitlines()[0]) from None
    except (ValueError, KeyError) as e:
        raise FaceswapError(
            f"{path}: trainer state does not fit this model ({type(e).__name__}); delete it to resume the weights "
            "with a fresh optimizer, or train a new model directory"
        ) from None
    return list(state.get("history") or [])
