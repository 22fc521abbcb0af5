"""`pretrain()`: a face prior, trained on many people, to start swap models from.

A swap model trained from scratch spends its first thousands of steps learning
what any face looks like (where eyes go, how skin shades, how a head turns)
before it can learn who A and B are. DeepFaceLab's pretraining showed that
this part can be learned once, on many other people, and reused: a model
started from such a prior reaches a given identity and sharpness in far fewer
steps.

The prior is an ordinary swap model directory of the preset it is for: the
facesets are dealt alternately to its two decoders (each learns several
people, so neither learns one identity), and the shared encoder sees them all.
`faceswap train --init PRIOR` then starts both of a new model's decoders and
its encoder from it. Never pretrain on the people a model will swap: the point
is a prior that works for anyone.
"""

from __future__ import annotations

from pathlib import Path

from faceswap.errors import FaceswapError
from faceswap.train.pipeline import train


def pretrain(facesets, prior_dir: str | Path, **options):
    """Train (or resume) a prior on `facesets` (two or more folders) into `prior_dir`.

    `options` are train()'s (preset, mask, iterations, time, threads, ...).
    Returns train()'s TrainSummary.
    """
    folders = [Path(f) for f in facesets]
    if len(folders) < 2:
        raise FaceswapError("pretrain needs the facesets of two or more people (ideally many)")
    if len({f.resolve() for f in folders}) != len(folders):
        raise FaceswapError("pretrain: a faceset is given twice; give each person's faceset once")
    return train(folders[0::2], folders[1::2], prior_dir, **options)
