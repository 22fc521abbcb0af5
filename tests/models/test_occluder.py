"""Occluder: build, forward shapes and loss, starts calling nothing covered, save/load (also
compact), and it learns cover on real faces (the public-domain portraits in the wheels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap.models import ModelError, load_model, save_model
from faceswap.models.occluder import Occluder

TINY = {"resolution": 32, "channels": [4, 8, 8]}


def test_shapes_loss_parts_and_config_errors():
    net = Occluder(TINY)
    x, t = torch.rand(2, 3, 32, 32), (torch.rand(2, 1, 32, 32) > 0.7).float()
    out = net(x, t)
    assert out.extra["logits"].shape == (2, 1, 32, 32)
    assert out.loss.ndim == 0 and set(out.parts) == {"bce_loss", "dice_loss"}
    assert net.probability(x).shape == (2, 1, 32, 32)
    assert net(x).loss.item() == 0.0 and net(x).parts == {}
    for bad in ({"resolution": 30}, {"channels": [4]}, {"channels": [4, 0]}, {"colour": 1}):
        with pytest.raises(ModelError):
            Occluder({**TINY, **bad})
    with pytest.raises(ModelError):
        net(torch.rand(1, 3, 30, 30))
    with pytest.raises(ModelError):
        net(x, torch.rand(2, 1, 16, 16))


def test_starts_by_calling_nothing_covered():
    p = Occluder(TINY).eval().probability(torch.rand(1, 3, 32, 32))
    assert float(p.max()) < 0.1


def test_save_load_round_trip_plain_and_compact(tmp_path):
    from safetensors.torch import load_file, save_file

    from faceswap.models.compact import pack

    torch.manual_seed(0)
    net = Occluder(TINY)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    net.eval()
    save_model(net, tmp_path / "m")
    back = load_model(tmp_path / "m")
    x = torch.rand(1, 3, 32, 32)
    assert isinstance(back, Occluder) and torch.equal(back.probability(x), net.probability(x))
    # the shipped form: 8-bit convolutions, float16 norms; the cover it gives barely moves
    save_file(pack(load_file(str(tmp_path / "m" / "model.safetensors"))), str(tmp_path / "m" / "model.safetensors"))
    compact = load_model(tmp_path / "m")
    assert (compact.probability(x) - net.probability(x)).abs().max() < 0.02


def _portraits(size: int = 96) -> np.ndarray:
    """Eileen Collins and Grace Hopper (public domain, in the skimage / matplotlib wheels),
    cropped round the face, with mirror images: (4, size, size, 3) uint8."""
    import os

    import cv2
    import matplotlib
    skimage = pytest.importorskip("skimage.data")

    a = skimage.astronaut()[20:220, 120:320]
    b = cv2.imread(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))[60:360, 90:390, ::-1]
    faces = [cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=cv2.INTER_AREA) for f in (a, b)]
    return np.stack(faces + [f[:, ::-1] for f in faces])


def test_loss_falls_on_real_faces():
    """Synthetic cover (faceswap.train.cover) over two real faces: 100 steps of a tiny net on one
    thread bring the loss well below where it starts."""
    from faceswap.train.cover import CoverSynth
    from faceswap.training import fit

    synth = CoverSynth(np.ascontiguousarray(_portraits()), resolution=32)
    batches = [synth.batch(8, np.random.default_rng(i)) for i in range(8)]
    net = Occluder(TINY)
    first = float(np.mean([net(**b).loss.item() for b in batches]))
    fit(net, lambda step: batches[step % len(batches)], steps=100, lr=3e-3, seed=0, progress=False, device="cpu")
    net.eval()
    with torch.no_grad():
        last = float(np.mean([net(**b).loss.item() for b in batches]))
    print(f"\noccluder loss on real faces: {first:.3f} -> {last:.3f}")
    assert last < 0.8 * first
