"""The training preview: one PNG grid that shows at a glance how the swap goes.

Columns: A, A->A (A's decoder on A), A->B (the swap), B, B->B, B->A; one row
per sample face. Written atomically, so a viewer never sees half a file.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.fileio import atomic_path, write_error

COLUMNS = ("A", "A->A", "A->B", "B", "B->B", "B->A")


def _decode(model, x: torch.Tensor, identity: str) -> torch.Tensor:
    face, _mask = model.decode(model.encode(x), identity)
    return face.float().clamp(0, 1)


@torch.no_grad()
def preview_grid(model, faces_a: torch.Tensor, faces_b: torch.Tensor, identities=("a", "b")) -> np.ndarray:
    """faces_a, faces_b: (n, 3, R, R) float in [0, 1] on the model's device.

    Returns an (n*R, 6*R, 3) uint8 RGB grid with the columns of COLUMNS.
    """
    ia, ib = identities
    was_training = model.training
    model.eval()
    try:
        cols = [faces_a, _decode(model, faces_a, ia), _decode(model, faces_a, ib)]
        cols += [faces_b, _decode(model, faces_b, ib), _decode(model, faces_b, ia)]
    finally:
        model.train(was_training)
    n = min(faces_a.shape[0], faces_b.shape[0])
    grid = torch.cat([torch.cat([c[:n].float().cpu() for c in cols], dim=3)[i] for i in range(n)], dim=1)
    return (grid.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def save_preview(path: str | Path, grid: np.ndarray, header: bool = True) -> Path:
    """Write the grid (RGB uint8) as PNG atomically, with a thin column-title strip."""
    path = Path(path)
    img = cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)
    if header:
        cell = img.shape[1] // len(COLUMNS)
        strip = np.full((18, img.shape[1], 3), 255, np.uint8)
        for i, name in enumerate(COLUMNS):
            cv2.putText(strip, name, (i * cell + 3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        img = np.concatenate([strip, img], 0)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), img):
            raise write_error(RuntimeError("cv2.imwrite failed"), path, "writing the preview")
    return path
