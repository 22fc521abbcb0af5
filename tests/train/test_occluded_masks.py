"""With the occlusion model installed, the learned mask's target leaves out what covers each
training face: a card over the mouth of some of d20's faces is cut out of their targets only,
and the per-face targets reach the batches."""

from __future__ import annotations

import numpy as np
import torch

from faceswap.train.data import SwapBatches, load_faces
from faceswap.train.losses import face_mask
from faceswap.train.occluder import uncovered_mask_targets


def test_cover_is_cut_out_of_the_mask_targets(faces_dir, tmp_path):
    from faceswap.extract import extract
    from faceswap.train.cover import card_alpha, card_texture

    extract(faces_dir / "d20.mp4", tmp_path / "d20", size=128, every=25, progress=False)
    faces = load_faces(tmp_path / "d20", 64)
    images = faces.images.clone()
    alpha = card_alpha((64, 64), (32, 42), (30, 18), 10)
    texture = card_texture((64, 64)).astype(np.float32)
    for i in range(3):
        x = images[i].numpy().astype(np.float32)
        images[i] = torch.from_numpy(np.clip(x * (1 - alpha[..., None]) + texture * alpha[..., None], 0, 255)
                                     .astype(np.uint8))
    base = face_mask(64, faces.mean_landmarks(), faces.coverage)
    targets = uncovered_mask_targets(images, base, faces.coverage)
    assert targets.shape == (len(images), 1, 64, 64)
    card = torch.from_numpy(alpha > 0.99)
    for i in range(len(images)):
        kept = float(targets[i, 0][card].mean() / base[0, 0][card].mean())
        assert (kept < 0.1) if i < 3 else (kept > 0.9), f"face {i}: {kept:.2f} of the mask kept under the card"
    # uncovered faces: the target is the ellipse, up to a few pixels
    assert float((base - targets[3:]).abs().mean()) < 0.02

    faces.images = images
    batches = SwapBatches(faces, faces, 4, 64, mask_a=targets, mask_b=base)
    batch = batches(0)
    assert batch["a_target"].shape == (4, 4, 64, 64) and batch["b_target"].shape == (4, 4, 64, 64)
