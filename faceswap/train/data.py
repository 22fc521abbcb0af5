"""Facesets in memory and deterministic batch sampling.

A faceset (the output of `faceswap extract`, or a plain folder of aligned face
images) is read ONCE into a uint8 tensor (N, S, S, 3) RGB at the training
resolution and kept on the training device: a few hundred 64 px faces are a
few MB, so on a GPU every batch is indexed and augmented there and the CPU has
nothing left to do per step.

Resolution policy: faces larger than the model's resolution are downscaled
once with area averaging (documented, lossless for training purposes); faces
SMALLER than it are refused (upscaling would train the model on blur), as is a
folder whose images differ in size among themselves (not one faceset).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.errors import FaceswapError
from faceswap.extract.faceset import ALIGNMENTS_NAME, Alignments, load_faceset
from faceswap.fileio import IMAGE_EXTS
from faceswap.train.augment import AugmentConfig, augment


@dataclass
class Faceset:
    """A faceset in memory.

    images: (N, R, R, 3) uint8 RGB at the training resolution R.
    landmarks: (N, 5, 2) float32 normalised [0, 1] crop coordinates, or None.
    source_size: side of the images on disk; coverage from alignments.json or None.
    """

    path: Path
    images: torch.Tensor
    landmarks: torch.Tensor | None
    source_size: int
    coverage: float | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def mean_landmarks(self) -> torch.Tensor | None:
        return None if self.landmarks is None else self.landmarks.mean(0)

    def to(self, device) -> "Faceset":
        self.images = self.images.to(device)
        return self


def load_faces(folder: str | Path, resolution: int) -> Faceset:
    """Load a faceset folder (faceswap.extract.faceset.load_faceset) into memory at `resolution`.

    Raises FaceswapError (one line, naming the folder or file) for a missing or
    empty faceset, images of mixed sizes, or images smaller than `resolution`.
    """
    folder = Path(folder)
    if folder.is_dir() and not any(p.suffix.lower() in IMAGE_EXTS for p in folder.iterdir()):
        raise FaceswapError(f"{folder}: faceset is empty (no face images); extract faces into it first")
    arr, landmarks = load_faceset(folder)  # one size for all, or a FaceswapError naming the odd file
    n, h, w = arr.shape[:3]
    coverage = Alignments.load(folder / ALIGNMENTS_NAME).coverage if (folder / ALIGNMENTS_NAME).is_file() else None
    if h != w:
        raise FaceswapError(f"{folder}: faceset images are {w}x{h}, not square aligned crops; re-extract it")
    if h < resolution:
        raise FaceswapError(
            f"{folder}: faceset images are {h} px but the model trains at {resolution} px; "
            f"re-extract with a size of at least {resolution} or train at --resolution {h}"
        )
    if h > resolution:
        arr = np.stack([cv2.resize(img, (resolution, resolution), interpolation=cv2.INTER_AREA) for img in arr])
    lm = None if landmarks is None else torch.from_numpy(np.asarray(landmarks, np.float32) / float(h))
    return Faceset(folder, torch.from_numpy(np.ascontiguousarray(arr)), lm, int(h), coverage)


def step_generator(seed: int, step: int, rank: int, device: torch.device) -> torch.Generator:
    """A generator whose state depends only on (seed, step, rank): exact resume, distinct ranks."""
    gen = torch.Generator(device=device)
    gen.manual_seed((seed * 1_000_003 + step * 7919 + rank * 104_729) % (2**63 - 1))
    return gen


class SwapBatches:
    """Deterministic per-step batch maker: `batches(step) -> dict` for faceswap.training.fit.

    Each call samples `batch_size` faces of A and of B (with replacement) and
    augments them on the facesets' device. The dict keys match SwapTrainer's
    forward: a_in, a_target, b_in, b_target (float (B, 3[+1], R, R) in [0, 1]).
    With `mask_a`/`mask_b` (mask targets: (1,1,R,R) for every face, or (N,1,R,R), one per
    face of the faceset) the targets carry a 4th channel.
    """

    def __init__(
        self,
        faces_a: Faceset,
        faces_b: Faceset,
        batch_size: int,
        resolution: int,
        seed: int = 0,
        rank: int = 0,
        aug: AugmentConfig | None = None,
        mask_a: torch.Tensor | None = None,
        mask_b: torch.Tensor | None = None,
    ):
        self.a, self.b = faces_a, faces_b
        self.batch_size, self.resolution = batch_size, resolution
        self.seed, self.rank = seed, rank
        self.aug = aug or AugmentConfig()
        self.mask_a, self.mask_b = mask_a, mask_b

    def _side(self, faces: Faceset, mask: torch.Tensor | None, gen: torch.Generator):
        device = faces.images.device
        idx = torch.randint(len(faces), (self.batch_size,), generator=gen, device=device)
        if mask is None:
            extra = None
        elif mask.shape[0] == len(faces) and len(faces) > 1:  # one target per face (cover taken out)
            extra = mask.to(device)[idx]
        else:
            extra = mask.to(device).expand(self.batch_size, -1, -1, -1)
        return augment(faces.images[idx], self.resolution, gen, self.aug, extra=extra)

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        gen = step_generator(self.seed, step, self.rank, self.a.images.device)
        a_in, a_target = self._side(self.a, self.mask_a, gen)
        b_in, b_target = self._side(self.b, self.mask_b, gen)
        return {"a_in": a_in, "a_target": a_target, "b_in": b_in, "b_target": b_target}


def load_many(folders, resolution: int) -> Faceset:
    """One faceset (a folder), or several merged into one (a list of folders: a
    prior's many people). Merged facesets must share their coverage; the
    result's `path` is the first folder (for messages)."""
    if isinstance(folders, (str, Path)):
        return load_faces(folders, resolution)
    sets = [load_faces(f, resolution) for f in folders]
    if not sets:
        raise FaceswapError("no facesets given")
    coverages = {round(float(s.coverage), 6) for s in sets if s.coverage is not None}
    if len(coverages) > 1:
        raise FaceswapError(f"{sets[0].path}: facesets of different coverage ({', '.join(map(str, sorted(coverages)))}); "
                            "extract them all with the same --coverage")
    landmarks = None
    if all(s.landmarks is not None for s in sets):
        landmarks = torch.cat([s.landmarks for s in sets])
    return Faceset(sets[0].path, torch.cat([s.images for s in sets]), landmarks,
                   max(s.source_size for s in sets), sets[0].coverage)
