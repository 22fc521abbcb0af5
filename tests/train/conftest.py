"""Tiny synthetic facesets and a tiny preset for the train tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap.train.presets import PRESETS, Preset

TINY = Preset(
    "tiny",
    dict(resolution=16, encoder_channels=(4, 8, 8, 8), kernel_size=3, latent_dim=8, bottleneck_channels=8,
         decoder_channels=(8, 4, 4), upsample="pixel_shuffle", residual_blocks=0),
    batch_size=4, lr=1e-3, purpose="tests",
)


def make_faceset(folder: Path, n: int = 6, size: int = 32, hue: int = 0, alignments: bool = True) -> Path:
    """n synthetic 'faces' (a skin ellipse, two eyes, a mouth) as PNGs + alignments.json."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(hue)
    frames = {}
    for i in range(n):
        img = np.full((size, size, 3), (40 + hue, 90, 140), np.uint8)
        c = size // 2 + int(rng.integers(-2, 3))
        cv2.ellipse(img, (c, size // 2), (size // 3, size * 2 // 5), 0, 0, 360, (150, 180, 220 - hue), -1)
        for ex in (0.35, 0.65):
            cv2.circle(img, (int(ex * size), int(0.4 * size)), max(1, size // 16), (30, 30, 30), -1)
        cv2.line(img, (int(0.4 * size), int(0.72 * size)), (int(0.6 * size), int(0.72 * size)), (40, 40, 160), 1)
        name = f"{i:06d}_0.png"
        cv2.imwrite(str(folder / name), img)
        lm = [[0.35 * size, 0.4 * size], [0.65 * size, 0.4 * size], [0.5 * size, 0.56 * size],
              [0.4 * size, 0.72 * size], [0.6 * size, 0.72 * size]]
        frames[str(i)] = [{"box": [0, 0, size, size], "score": 0.99, "landmarks": lm,
                           "matrix": [[1, 0, 0], [0, 1, 0]], "file": name}]
    if alignments:
        doc = {"version": 1, "source": "synthetic", "width": size, "height": size, "fps": 25.0, "frame_count": n,
               "size": size, "coverage": 1.0, "frames": frames}
        (folder / "alignments.json").write_text(json.dumps(doc))
    return folder


@pytest.fixture
def tiny_preset(monkeypatch):
    monkeypatch.setitem(PRESETS, "tiny", TINY)
    return "tiny"


@pytest.fixture
def facesets(tmp_path):
    return make_faceset(tmp_path / "a", hue=0), make_faceset(tmp_path / "b", hue=60)
