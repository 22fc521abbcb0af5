"""faceswap.train: two facesets -> a swap model (shared encoder, one decoder per identity).

    from faceswap.train import train
    summary = train("faces/a", "faces/b", "models/a2b", time=20 * 60, init="prior128", mask=True)

Pieces: data (facesets in memory, deterministic batches), augment (batched
random warp on the training device), losses (L1 + DSSIM, eye/mouth weights),
presets (lightweight, original, hires), preview (the A/B grid), checkpoint
(the model directory), pipeline (train() on faceswap.training.fit).
"""

from faceswap.train.checkpoint import load_swap_model
from faceswap.train.pipeline import TrainSummary, train
from faceswap.train.presets import PRESETS

__all__ = ["train", "load_swap_model", "PRESETS", "TrainSummary"]
