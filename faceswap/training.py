"""One generic fit loop for any model whose ``forward`` returns an output with ``.loss``.

Like minGPT's trainer, it knows nothing about faces: the face-swap trainer,
the library's reproductions and users' own models all call ``fit``. It does
the plumbing once: Adam (fused on CUDA), mixed precision on CUDA (bf16 where
supported, else fp16 with a GradScaler), gradient clipping, a tqdm bar,
callbacks, seeding, time budgets, and checkpoints that resume exactly.

A checkpoint directory holds ``config.json`` + ``model.safetensors`` (via
``faceswap.models.save_model``) and ``trainer.pt``: optimizer and scaler state,
the step, the RNG states and the loss history, all plain tensors, numbers,
strings, lists and dicts, so it loads with ``torch.load(weights_only=True)``
(no pickled code). Each file is written atomically (temp file, then rename).

Exact resume: with ``batches`` a function of the step and the RNG states
restored, a run stopped at step N and resumed to 2N ends with the same
weights as an uninterrupted 2N-step run (bit for bit on CPU).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from faceswap.fileio import write_error
from faceswap.models.serialization import (
    WEIGHTS_FILE,
    ModelError,
    atomic_write,
    load_weights,
    read_model_config,
    registered_name,
    save_model,
)

TRAINER_FILE = "trainer.pt"
TRAINER_VERSION = 1


@dataclass
class FitState:
    """Where a fit stands; passed to callbacks and returned by ``fit``.

    step:    optimizer steps taken in total (including resumed ones).
    history: one dict per step: {"step", "loss", <part>: float, ...}.
    parts:   the last step's parts as floats (e.g. {"loss_a": .., "loss_b": ..}).
    loss:    the last step's loss. stop: a callback may set it to end the fit.
    stopped: why the fit ended: "steps", "time_budget", "callback", "data" or "interrupted".
    """

    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)
    loss: float = math.nan
    stop: bool = False
    stopped: str = ""
    elapsed: float = 0.0
    # fp16's loss scaler, so that a caller keeping its own checkpoints can save
    # and restore it (a fresh scale after a resume skips steps and changes the run)
    scaler: Any = field(default=None, repr=False, compare=False)


@dataclass
class Callback:
    """Call ``fn(state)`` after every ``every``-th step (when ``state.step % every == 0``)."""

    every: int
    fn: Callable[[FitState], Any]


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _batch_size(batch: Any) -> int | None:
    """Leading dimension of the first tensor found (for examples/s)."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0] if batch.dim() else None
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else ()
    for v in values:
        n = _batch_size(v)
        if n is not None:
            return n
    return None


def _call(model: nn.Module, batch: Any) -> Any:
    if isinstance(batch, dict):
        return model(**batch)
    if isinstance(batch, (list, tuple)):
        return model(*batch)
    return model(batch)


def _rng_state() -> dict:
    """RNG states as weights_only-loadable data (numpy's uint32 keys become an int64 tensor)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, mt, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": str(name), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(gauss)},
        "python": {"version": int(version), "state": torch.tensor(mt, dtype=torch.int64),
                   "gauss_next": None if gauss_next is None else float(gauss_next)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _unwrap(model: nn.Module) -> nn.Module:
    """The module to save: through DistributedDataParallel (.module) and torch.compile (._orig_mod)."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def make_adam(params: Iterable[torch.nn.Parameter], lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015); the fused CUDA kernel when on CUDA (one launch per step), else the default."""
    params = list(params)
    if device.type == "cuda":
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(params, lr=lr)


def save_checkpoint(directory: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    state: FitState, scaler: torch.amp.GradScaler | None = None, extra: dict | None = None) -> None:
    """Write trainer.pt and the model (config.json + model.safetensors), each atomically.

    trainer.pt goes to a temp file first and is renamed only after the model
    is saved, so a kill during either (slow) write leaves the whole previous
    checkpoint; only a kill between the last two renames mixes steps, which
    resume detects (config's extra["fit"]["step"] vs trainer.pt's step) and reports.
    """
    directory = Path(directory)
    data = {
        "version": TRAINER_VERSION,
        "step": int(state.step),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "rng": _rng_state(),
        "history": [dict(h) for h in state.history],
    }
    try:
        with atomic_write(directory / TRAINER_FILE) as tmp:
            torch.save(data, tmp)
            save_model(model, directory, extra={**(extra or {}), "fit": {"step": int(state.step)}})
    except (RuntimeError, OSError) as e:
        raise write_error(e, directory, "saving the checkpoint (an earlier checkpoint there is intact)") from None


_DELETE_TRAINER = ("deleting it resumes the saved weights at their step with a fresh optimizer; "
                   "to start over, use a new or empty checkpoint directory")


def load_trainer_state(directory: str | Path) -> dict:
    """trainer.pt as plain data (weights_only); ModelError naming the file if unreadable or newer."""
    path = Path(directory) / TRAINER_FILE
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"{path}: cannot read trainer state ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                         f"{_DELETE_TRAINER}") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise ModelError(f"{path}: not a trainer state (no version); {_DELETE_TRAINER}")
    if data["version"] > TRAINER_VERSION:
        raise ModelError(f"{path}: trainer state version {data['version']} is newer than this faceswap supports; upgrade")
    return data


def has_checkpoint(directory: str | Path | None) -> bool:
    return directory is not None and (Path(directory) / TRAINER_FILE).is_file() and (Path(directory) / WEIGHTS_FILE).is_file()


def _batch_source(batches: Any) -> Callable[[int], Any]:
    """``batches(step)`` for a callable; for an iterable, the next item (re-iterating at its end
    when it can start again, like a DataLoader's next epoch); StopIteration when it is spent."""
    if callable(batches) and not hasattr(batches, "__iter__"):
        return batches
    box = {"it": iter(batches)}

    def nxt(step: int) -> Any:
        try:
            return next(box["it"])
        except StopIteration:
            again = iter(batches)
            if again is box["it"]:
                raise
            box["it"] = again
            return next(again)  # an empty new epoch ends the fit

    return nxt


class ProgressBar:
    """The tqdm bar of a training run. Under a time budget it counts seconds
    (elapsed<remaining, the step beside them), since a step total would be
    unknown or meaningless; otherwise steps towards `steps` (None: no total,
    the run goes on until stopped). Either way the line keeps tqdm's
    `done/total [` shape, which the web page's job list reads (faceswap.ui.jobs)."""

    def __init__(self, desc: str, start: int, steps: int | None = None, time_budget: float | None = None):
        self.timed = time_budget is not None
        self.t0 = time.perf_counter()
        if self.timed:
            self.bar = tqdm(total=max(1, round(time_budget)), desc=desc, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}{postfix}]")
        else:
            self.bar = tqdm(total=steps, initial=start, desc=desc, unit="it", dynamic_ncols=True)

    def update(self, step: int, postfix: dict) -> None:
        if self.timed:
            self.bar.set_postfix({"step": step, **postfix}, refresh=False)
            self.bar.update(min(float(self.bar.total), time.perf_counter() - self.t0) - self.bar.n)
        else:
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(step - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def fit(
    model: nn.Module,
    batches: Callable[[int], Any] | Iterable[Any],
    *,
    steps: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    device: str | torch.device | None = None,
    amp: bool = True,
    grad_clip: float | None = None,
    seed: int | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    time_budget: float | None = None,
    desc: str = "train",
    start_step: int = 0,
    extra: dict | Callable[[FitState], dict] | None = None,
    scaler_state: dict | None = None,
) -> FitState:
    """Train ``model`` until ``state.step == steps`` (a total: resumed steps count).

    batches: ``batches(step) -> batch`` (deterministic per step: exact resume)
        or an iterable. A dict batch is called as ``model(**batch)``, a
        tuple/list as ``model(*batch)``, a tensor as ``model(batch)``; tensors
        are moved to ``device``. The model returns an object with ``.loss``
        (scalar) and ``.parts`` (dict of scalars), e.g. a ``ModelOutput``.
    optimizer: default Adam(lr), fused on CUDA. amp: autocast on CUDA only
        (bf16 if supported, else fp16 with a GradScaler); fp32 on CPU.
    grad_clip: max global gradient norm (None: no clipping).
    seed: seeds Python, numpy and torch before training (a resume then restores
        the saved RNG states instead).
    checkpoint_dir: resume from it when it holds a checkpoint; save to it every
        ``checkpoint_every`` steps, at the end, on ``time_budget`` and on
        Ctrl-C (then re-raised). The saved model is ``model`` (unwrapped from
        DDP / torch.compile) and must be a registered model; ``extra`` (a dict,
        or ``fn(state) -> dict``) goes into its config.json.
    start_step: the step to count from when not resuming from checkpoint_dir
        (for callers that keep their own checkpoints; they save
        ``state.scaler`` and give it back as ``scaler_state``).
    time_budget: seconds; the fit stops after the step that passes it.
    Returns the final ``FitState``.
    """
    device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    target = _unwrap(model)
    if checkpoint_dir is not None:
        registered_name(target)  # fail now, not at the first save
    if seed is not None:
        seed_everything(seed)
    model.to(device)
    if optimizer is None:
        optimizer = make_adam((p for p in model.parameters() if p.requires_grad), lr, device)
    amp_dtype = None
    if amp and device.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    if scaler_state and scaler.is_enabled():
        scaler.load_state_dict(scaler_state)

    state = FitState(step=int(start_step), scaler=scaler)
    if has_checkpoint(checkpoint_dir):
        _resume(checkpoint_dir, target, optimizer, scaler, state, device)

    def checkpoint() -> None:
        if checkpoint_dir is not None:
            meta = extra(state) if callable(extra) else extra
            save_checkpoint(checkpoint_dir, target, optimizer, state, scaler, meta)

    callbacks = list(callbacks)
    next_batch = _batch_source(batches)
    was_training = model.training
    model.train()
    t0 = time.perf_counter()
    examples = 0
    last_saved = state.step
    bar = None
    if progress:
        bar = ProgressBar(desc, state.step, steps, time_budget)
    try:
        while state.step < steps:
            try:
                batch = next_batch(state.step)
            except StopIteration:
                state.stopped = "data"
                break
            batch = _to_device(batch, device)
            examples += _batch_size(batch) or 0
            optimizer.zero_grad(set_to_none=True)
            ctx = torch.autocast("cuda", dtype=amp_dtype) if amp_dtype is not None else contextlib.nullcontext()
            with ctx:
                out = _call(model, batch)
            loss = out.loss
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value) and not scaler.is_enabled():
                raise FloatingPointError(f"loss is {loss_value} at step {state.step + 1}; lower lr or set grad_clip")
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()

            state.step += 1
            state.loss = loss_value
            state.parts = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in (getattr(out, "parts", None) or {}).items()}
            state.history.append({"step": state.step, "loss": loss_value, **state.parts})
            state.elapsed = time.perf_counter() - t0
            if bar is not None:
                post = {"loss": f"{loss_value:.4g}", **{k: f"{v:.4g}" for k, v in state.parts.items()}}
                if examples:
                    post["ex/s"] = f"{examples / max(state.elapsed, 1e-9):.1f}"
                bar.update(state.step, post)
            if checkpoint_every and state.step % checkpoint_every == 0:
                checkpoint()
                last_saved = state.step
            for cb in callbacks:
                if cb.every and state.step % cb.every == 0:
                    cb.fn(state)
            if state.stop:
                state.stopped = "callback"
                break
            if time_budget is not None and state.elapsed >= time_budget:
                state.stopped = "time_budget"
                break
        else:
            state.stopped = "steps"
    except KeyboardInterrupt:
        state.stopped = "interrupted"
        if state.step != last_saved:
            checkpoint()
        raise
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    if state.step != last_saved:
        checkpoint()
    return state


def _resume(directory: str | Path, target: nn.Module, optimizer: torch.optim.Optimizer,
            scaler: torch.amp.GradScaler, state: FitState, device: torch.device) -> None:
    """Load weights, optimizer/scaler/RNG state, step and history from a checkpoint directory."""
    doc = read_model_config(directory)
    config = getattr(target, "config", None)
    if doc["type"] != registered_name(target) or (config is not None and doc["config"] != json.loads(json.dumps(config))):
        raise ModelError(
            f"{Path(directory) / 'config.json'}: checkpoint holds a different model ({doc['type']}); "
            "use another checkpoint_dir or the same model config"
        )
    load_weights(target, directory, map_location=device)
    data = load_trainer_state(directory)
    try:
        optimizer.load_state_dict(data["optimizer"])
    except (ValueError, KeyError) as e:
        raise ModelError(f"{Path(directory) / TRAINER_FILE}: optimizer state does not fit this model ({e})") from None
    if data.get("scaler") and scaler.is_enabled():
        scaler.load_state_dict(data["scaler"])
    if data.get("rng"):
        _set_rng_state(data["rng"])
    state.step = int(data["step"])
    state.history = list(data.get("history", []))
    if state.history:
        last = state.history[-1]
        state.loss = float(last.get("loss", math.nan))
        state.parts = {k: float(v) for k, v in last.items() if k not in ("step", "loss")}
    saved = doc.get("extra", {}).get("fit", {}).get("step")
    if saved is not None and int(saved) != state.step:
        warnings.warn(
            f"{directory}: weights are from step {saved} but trainer.pt from step {state.step} "
            f"(a save was interrupted); resuming from step {state.step}"
        )
