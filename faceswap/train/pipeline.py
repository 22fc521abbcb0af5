"""`train()`: two facesets -> a swap model directory, on faceswap.training.fit.

The face-swap trainer is a thin use of the generic fit loop: `SwapTrainer`
wraps the SwapAutoEncoder so that one forward pass on a batch of A and a batch
of B returns one ModelOutput (loss = loss_a + loss_b); `SwapBatches` makes the
batches as a pure function of (seed, step) on the training device, so a resumed
run sees exactly the batches an uninterrupted one would have.

Model directory: config.json + model.safetensors (via
save_model, metadata under extra["faceswap"]), trainer.pt (optimizer state and
step, loaded with weights_only=True) and preview.png, each written atomically.

Multi-GPU: launch with torchrun, e.g.
    torchrun --standalone --nproc_per_node 4 -m faceswap.cli train A B -m MODEL
Each process trains on its own GPU (LOCAL_RANK) with DistributedDataParallel
and its own batches (the rank enters the batch seed); rank 0 alone writes
checkpoints and previews. --batch-size is per process.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time as _time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from faceswap.errors import FaceswapError
from faceswap.fileio import mark_output_folder, output_path
from faceswap.models import read_model_config
from faceswap.models.swap import SwapAutoEncoder
from faceswap.face_region import has_region_model
from faceswap.occlusion import has_occluder, missing_occluder
from faceswap.runtime import pick_device, pick_threads
from faceswap.train.checkpoint import (load_swap_model, load_trainer_state, model_meta, resume_meta, save_checkpoint,
                                       warn_facesets)
from faceswap.train.augment import AugmentConfig, to_float
from faceswap.train.data import SwapBatches, load_many
from faceswap.train.losses import AdversarialTerm, FaceLoss, face_mask, region_weights
from faceswap.train.presets import PRESETS, model_config
from faceswap.train.preview import preview_grid, save_preview
from faceswap.train.trainer import SwapTrainer, load_discriminators, save_discriminators
from faceswap.training import Callback, FitState, ProgressBar, fit
from faceswap.weights import model_path

__all__ = ["train", "TrainSummary", "SwapTrainer", "load_swap_model", "parse_duration"]


# A global gradient-norm cap: a lightweight run with a mask once blew up to
# saturated outputs near step 190 at lr 1e-3; clipping keeps Adam's rare large
# steps from pushing the sigmoid decoders into saturation.
GRAD_CLIP = 1.0


def parse_duration(text: str | None) -> float | None:
    """'90', '90s', '20m', '1.5h' -> seconds (None passes through)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m:
        raise FaceswapError(f"--time {text!r}: not a duration; use e.g. 90s, 20m or 1.5h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


@dataclass
class TrainSummary:
    """What a train() call did."""

    model_dir: Path
    preset: str
    resolution: int
    start_step: int
    step: int
    seconds: float
    examples_per_s: float
    first: dict[str, float]
    last: dict[str, float]
    interrupted: bool = False
    model: nn.Module | None = field(default=None, repr=False)  # the trained SwapAutoEncoder

    def describe(self) -> str:
        la = f"loss A {self.first.get('loss_a', float('nan')):.4f} -> {self.last.get('loss_a', float('nan')):.4f}"
        lb = f"loss B {self.first.get('loss_b', float('nan')):.4f} -> {self.last.get('loss_b', float('nan')):.4f}"
        how = "interrupted; saved" if self.interrupted else "saved"
        return (
            f"{how} {self.model_dir} at step {self.step} ({self.step - self.start_step} steps in {self.seconds:.0f} s, "
            f"{self.examples_per_s:.1f} faces/s); {la}; {lb}"
        )


def _distributed() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def train(
    faces_a: str | Path,
    faces_b: str | Path,
    model_dir: str | Path,
    *,
    iterations: int | None = None,
    time: float | None = None,
    batch_size: int | None = None,
    preset: str = "lightweight",
    resolution: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    loss: str = "l1+dssim",
    mask: bool = False,
    eye_weight: float = 1.0,
    mouth_weight: float = 1.0,
    adversarial: float = 0.0,
    lr: float | None = None,
    save_every: int = 500,
    preview_every: int = 100,
    compile: bool = False,
    channels_last: bool | None = None,
    tensorboard: str | Path | None = None,
    progress: bool = True,
    threads: int | str | None = "auto",
    init: str | Path | None = None,
    warp: bool = True,
    occlusion: bool | None = None,
    face_region: bool | None = None,
) -> TrainSummary:
    """Train (or resume) a swap model of faces A and B into `model_dir`.

    iterations: the total step count to train to, counting the steps of earlier
    calls on this model directory (so running the same call twice does not
    train twice as long); None: until `time` runs out or Ctrl-C.
    time: wall-clock budget in seconds. batch_size: faces per identity per step
    (per process under torchrun). preset: lightweight | original | hires
    (see faceswap.train.presets). resolution: default the preset's.
    An existing model directory is resumed (same preset/resolution/mask, step
    count and optimizer state continue); a mismatched one is refused.
    Ctrl-C (or SIGTERM) saves a checkpoint and returns (summary.interrupted is True).
    threads: torch CPU threads, or "auto" (None too): on a CPU, time one
    training step with 1 thread and with every core and keep the faster. On a
    CPU shared with other jobs, 1 can be an order of magnitude faster.
    init: a prior (`faceswap pretrain`) of the same preset, resolution and
    mask setting to start a new model from: its encoder and both decoders,
    which already draw faces, so the model only has to learn these two people.
    A path, or the name of a shipped prior ("prior128", "prior": see
    faceswap.weights). Without `resolution` the model takes the prior's.
    faces_a / faces_b may also be lists of facesets (merged), as pretrain uses.
    warp: warp the input faces at random (the default). The warp is what makes
    the shared encoder learn faces rather than copy pixels, so a model must
    start with it. Once the model draws both people (a quarter of a half-hour
    CPU budget from a prior), training on without it makes the decoders stop
    averaging over many warped versions of each face: firmer eyes, brows and
    lips that follow the input's expression more closely.
    occlusion: with `mask`, take what covers each training face (the occlusion
    model's cover) out of its mask target, so the learned mask never claims a
    hand or a microphone; None: when weights/occluder is installed.
    face_region: with `mask`, each face's mask target is its own face region (the
    face-region model's segmentation: hairline, jaw, no ears or hair) instead of
    one ellipse for all; None: when weights/face_region is installed.
    Returns a TrainSummary; raises FaceswapError for user-fixable problems.
    """
    if preset not in PRESETS:
        raise FaceswapError(f"--preset {preset!r}: unknown; choose one of {', '.join(PRESETS)}")
    if iterations is not None and iterations < 0:
        raise FaceswapError(f"--iterations {iterations}: must be >= 0")
    rank, world, local_rank = _distributed()
    # A start takes seconds to tens of seconds (faces, the prior, the thread timing): say what it is doing.
    note = (lambda text: print(f"train: {text}", flush=True)) if progress and rank == 0 else (lambda text: None)
    if world > 1:
        if device is None and torch.cuda.is_available():
            device = f"cuda:{local_rank}"
        if str(device or "").startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
        if not dist.is_initialized():
            dist.init_process_group("nccl" if str(device or "").startswith("cuda") else "gloo")
    dev = pick_device(str(device) if device is not None else None)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    p = PRESETS[preset]
    model_dir = output_path(model_dir)
    if init is not None:
        init = model_path(init, "--init")

    meta_old = resume_meta(model_dir, preset, resolution, mask)
    if meta_old is None and init is not None and resolution is None:
        resolution = _prior_resolution(Path(init))
    res = int(meta_old["resolution"]) if meta_old else int(resolution or p.resolution)
    bs = int(batch_size or p.batch_size)
    if bs < 1:
        raise FaceswapError(f"--batch-size {bs}: must be >= 1")

    note(f"loading the faces at {res} px")
    fa, fb = load_many(faces_a, res), load_many(faces_b, res)
    warn_facesets(fa, fb)
    for fs in (fa, fb):
        old_cov = (meta_old or {}).get("coverage")
        if old_cov is not None and fs.coverage is not None and abs(float(old_cov) - float(fs.coverage)) > 1e-6:
            raise FaceswapError(
                f"{fs.path}: faceset coverage {fs.coverage} differs from the model's {old_cov}; "
                "re-extract with the same coverage or train a new model directory"
            )
    fa.to(dev), fb.to(dev)

    torch.manual_seed(seed)
    if meta_old:
        model, _ = load_swap_model(model_dir, dev)
        model.train()
        if init is not None:
            warnings.warn(f"--init {init}: {model_dir} already holds a model; resuming it, the prior is not used")
    else:
        model = SwapAutoEncoder(model_config(p, res, mask)).to(dev)
        if init is not None:
            note(f"starting from the prior {init}")
            _init_from_prior(model, init, preset, res, mask)
    start_step = int(meta_old["step"]) if meta_old else 0
    if channels_last is None:
        channels_last = dev.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)

    lm_a, lm_b = fa.mean_landmarks(), fb.mean_landmarks()
    weights = region_weights(res, lm_a, eye_weight, mouth_weight, coverage=fa.coverage)
    adv = None
    if adversarial > 0:
        try:
            adv = AdversarialTerm(model.identities[:2], res)
        except ImportError:
            warnings.warn("--adversarial: faceswap.models.gan is not available; training without the GAN term")
    if meta_old and bool(meta_old.get("adversarial")) != (adv is not None):
        raise FaceswapError(
            f"{model_dir / 'config.json'}: this model was trained {'with' if meta_old.get('adversarial') else 'without'} "
            f"--adversarial; resume it the same way or use a new --model-dir"
        )
    if adv is not None and meta_old:
        load_discriminators(adv, model_dir)
    trainer = SwapTrainer(model, FaceLoss(loss, weights), channels_last=channels_last, adversarial=adv,
                          adversarial_weight=adversarial).to(dev)
    masks = (face_mask(res, lm_a, fa.coverage), face_mask(res, lm_b, fb.coverage)) if mask else (None, None)
    if mask and (face_region or (face_region is None and has_region_model())):
        from faceswap.face_region import region_mask_targets

        # each face's own outline instead of one ellipse: the decoder learns where its person's
        # skin ends (hairline, fringe, jaw), so convert never paints B's hair as face
        masks = (region_mask_targets(fa.images, fa.coverage), region_mask_targets(fb.images, fb.coverage))
    if mask and (occlusion or (occlusion is None and has_occluder())):
        if occlusion and not has_occluder():
            raise missing_occluder()
        from faceswap.train.occluder import uncovered_mask_targets

        masks = (uncovered_mask_targets(fa.images, masks[0], fa.coverage),
                 uncovered_mask_targets(fb.images, masks[1], fb.coverage))
    if not warp and not meta_old:
        warnings.warn(f"--no-warp on the new model {model_dir}: without the warp the encoder learns to copy "
                      "pixels instead of faces and swaps keep A's features; train with the warp first, then "
                      "resume with --no-warp")
    aug = AugmentConfig() if warp else AugmentConfig(warp=0.0)
    batches = SwapBatches(fa, fb, bs, res, seed, rank, aug=aug, mask_a=masks[0], mask_b=masks[1])
    step_model: nn.Module = trainer
    if world > 1:
        step_model = DDP(trainer, device_ids=[dev.index] if dev.type == "cuda" else None)
    if compile:
        step_model = torch.compile(step_model)

    if dev.type == "cpu":
        def probe() -> None:
            trainer(**batches(start_step)).loss.backward()
            trainer.zero_grad(set_to_none=True)

        if threads in (None, "auto") and torch.get_num_threads() > 1:
            note("timing a step on one thread and on all cores to pick the faster (--threads N skips this)")
        _, how = pick_threads(threads, probe)
        note(f"torch threads {how}")
    elif threads not in (None, "auto"):
        torch.set_num_threads(int(threads))

    optimizer = _optimizer(trainer, lr or p.lr, dev)
    if meta_old:  # every rank loads it: identical Adam moments keep DDP replicas identical
        history, scaler_state = load_trainer_state(model_dir, optimizer)
    else:
        history, scaler_state = [], None

    meta = model_meta(preset, res, fa, fb, mask, loss, start_step)
    for key, given in (("faceset_a", faces_a), ("faceset_b", faces_b)):
        if isinstance(given, (list, tuple)):  # a prior's many people: every folder
            meta[key] = [str(Path(f).resolve()) for f in given]
    prior = str(Path(init).resolve()) if (init is not None and not meta_old) else (meta_old or {}).get("init")
    if prior:
        meta["init"] = prior
    meta["adversarial"] = float(adversarial) if adv is not None else 0.0
    is_main = rank == 0
    fixed_a, fixed_b = _preview_faces(fa), _preview_faces(fb)
    state_box: dict = {"first": {}, "last": {}, "step": start_step, "state": FitState(step=start_step)}

    def save(step: int) -> None:
        if is_main:
            live = state_box["state"]  # fit's state: this call's history; keep the earlier calls' too
            old = [h for h in history if h.get("step", 0) <= start_step]
            state = FitState(step=step, history=old + [h for h in live.history if h["step"] > start_step])
            save_checkpoint(model_dir, model, optimizer, state, dict(meta, step=step), scaler=live.scaler)
            if adv is not None:
                save_discriminators(adv, model_dir)

    def write_preview(step: int) -> None:
        if is_main:
            save_preview(model_dir / "preview.png", preview_grid(model, fixed_a, fixed_b, model.identities[:2]))

    monitor = _Monitor(state_box, start_step, bs * 2 * world, progress and is_main, tensorboard if is_main else None,
                       total=iterations, time_budget=time)
    callbacks = [Callback(1, monitor)]
    if save_every:
        callbacks.append(Callback(save_every, lambda s: save(s.step)))
    if preview_every:
        callbacks.append(Callback(preview_every, lambda s: write_preview(s.step)))

    total = iterations if iterations is not None else 10**12  # None: until --time or Ctrl-C
    if iterations is None and time is None:
        note("no --iterations or --time: training until Ctrl-C, which saves")
    interrupted = False
    t0 = _time.perf_counter()
    if is_main and not meta_old:
        model_dir.mkdir(parents=True, exist_ok=True)
        mark_output_folder(model_dir)  # before the first file: a half-saved model is still known as ours
    restore = _sigterm_as_interrupt()
    try:
        fit(
            step_model,
            batches,
            steps=max(start_step, total),
            start_step=start_step,
            optimizer=optimizer,
            device=dev,
            amp=True,
            grad_clip=GRAD_CLIP,
            seed=seed,
            callbacks=callbacks,
            progress=False,
            time_budget=time,
            desc="train",
            scaler_state=scaler_state,
        )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        restore()
        monitor.close()
    seconds = _time.perf_counter() - t0
    end = state_box["step"]
    save(end)
    write_preview(end)
    if world > 1:
        dist.barrier()
    done = end - start_step
    return TrainSummary(
        model_dir, preset, res, start_step, end, seconds, done * bs * 2 * world / max(seconds, 1e-9),
        state_box["first"], state_box["last"], interrupted, model,
    )


def _prior_resolution(prior: Path) -> int | None:
    """The resolution a prior was trained at, or None when it is not a model
    directory (then _init_from_prior says so in its own words)."""
    try:
        return int(read_model_config(prior)["extra"]["faceswap"]["resolution"])
    except (KeyError, TypeError, ValueError):  # ModelError is a ValueError
        return None


def _init_from_prior(model: nn.Module, prior: Path, preset: str, res: int, mask: bool) -> None:
    """Copy a prior's weights into a new model; a one-line error when it cannot fit."""
    if not (prior / "config.json").is_file():
        raise FaceswapError(f"--init {prior}: not a model directory (no config.json); make a prior with `faceswap pretrain`")
    weights, meta = load_swap_model(prior, "cpu")
    have = (meta.get("preset"), int(meta["resolution"]), bool(meta.get("mask")))
    if have != (preset, res, bool(mask)):
        raise FaceswapError(
            f"--init {prior}: the prior is preset {have[0]} at {have[1]} px{' with' if have[2] else ' without'} a mask; "
            f"this model is {preset} at {res} px{' with' if mask else ' without'} one: "
            f"train with --preset {have[0]} --resolution {have[1]}{' --mask' if have[2] else ''}, or pretrain a matching prior"
        )
    model.load_state_dict(weights.state_dict())


def _sigterm_as_interrupt():
    """Turn SIGTERM (schedulers, `kill`) into KeyboardInterrupt while training, so it saves too.
    Returns a function that restores the previous handler (a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, old)


def _preview_faces(faces, n: int = 6) -> torch.Tensor:
    """n faces spread evenly over the faceset, (n, 3, R, R) float in [0, 1] (no augmentation)."""
    idx = torch.linspace(0, len(faces) - 1, min(n, len(faces))).round().long().to(faces.images.device)
    return to_float(faces.images[idx])


def _optimizer(trainer: nn.Module, lr: float, dev: torch.device) -> torch.optim.Optimizer:
    """Adam with beta1 = 0.5 (the deepfakes setting; steadier on reconstruction); fused where available."""
    params = [q for q in trainer.parameters() if q.requires_grad]
    try:
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


class _Monitor:
    """Per-step callback: tqdm bar (iteration, loss A, loss B, faces/s), TensorBoard, first/last losses."""

    def __init__(self, box: dict, start: int, per_step: int, progress: bool, tensorboard, total: int | None = None,
                 time_budget: float | None = None):
        self.box, self.start, self.per_step = box, start, per_step
        self.t0 = _time.perf_counter()
        self.bar = ProgressBar("train", start, total, time_budget) if progress else None
        self.tb = None
        if tensorboard is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(tensorboard))
            except ImportError:
                warnings.warn("--tensorboard: the tensorboard package is not installed; not logging")

    def __call__(self, state) -> None:
        parts = {k: float(v) for k, v in (getattr(state, "parts", None) or {}).items()}
        if not self.box["first"]:
            self.box["first"] = parts
        self.box["last"] = parts
        self.box["step"] = state.step
        self.box["state"] = state
        rate = (state.step - self.start) * self.per_step / max(_time.perf_counter() - self.t0, 1e-9)
        if self.bar is not None:
            self.bar.update(state.step, {"A": f"{parts.get('loss_a', 0):.4f}", "B": f"{parts.get('loss_b', 0):.4f}",
                                         "faces/s": f"{rate:.1f}"})
        if self.tb is not None:
            for k, v in parts.items():
                self.tb.add_scalar(f"train/{k}", v, state.step)
            self.tb.add_scalar("train/faces_per_s", rate, state.step)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()
