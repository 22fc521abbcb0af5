"""Augmentation: shapes, value range, reproducibility, and that it distorts."""

from __future__ import annotations

import torch

from faceswap.train.augment import AugmentConfig, augment


def _faces(n=4, s=48):
    g = torch.Generator().manual_seed(1)
    return (torch.rand(n, s, s, 3, generator=g) * 255).to(torch.uint8)


def test_shapes_and_range():
    x = _faces()
    inp, tgt = augment(x, 32, torch.Generator().manual_seed(0))
    assert inp.shape == tgt.shape == (4, 3, 32, 32)
    assert inp.dtype == tgt.dtype == torch.float32
    for t in (inp, tgt):
        assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0


def test_reproducible_with_seed_and_differs_otherwise():
    x = _faces()
    a = augment(x, 32, torch.Generator().manual_seed(7))
    b = augment(x, 32, torch.Generator().manual_seed(7))
    c = augment(x, 32, torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_identity_config_is_a_resize_and_warp_only_touches_input():
    x = _faces(2, 32)
    off = AugmentConfig(rotation=0, scale=0, shift=0, flip=0, warp=0, brightness=0, contrast=0, saturation=0)
    inp, tgt = augment(x, 32, torch.Generator().manual_seed(0), off)
    ref = x.permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(tgt, ref, atol=1e-5) and torch.allclose(inp, ref, atol=1e-5)
    warp_only = AugmentConfig(rotation=0, scale=0, shift=0, flip=0, warp=0.05, brightness=0, contrast=0, saturation=0)
    inp, tgt = augment(x, 32, torch.Generator().manual_seed(0), warp_only)
    assert torch.allclose(tgt, ref, atol=1e-5)
    assert (inp - ref).abs().mean() > 0.01


def test_flip_always_mirrors():
    x = _faces(2, 16)
    flip = AugmentConfig(rotation=0, scale=0, shift=0, flip=1.0, warp=0, brightness=0, contrast=0, saturation=0)
    _, tgt = augment(x, 16, torch.Generator().manual_seed(0), flip)
    ref = x.permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(tgt, ref.flip(-1), atol=1e-5)


def test_extra_channels_follow_target():
    x = _faces(3, 32)
    mask = torch.ones(3, 1, 32, 32)
    inp, tgt = augment(x, 32, torch.Generator().manual_seed(0), extra=mask)
    assert inp.shape == (3, 3, 32, 32) and tgt.shape == (3, 4, 32, 32)
