"""SparseAutoEncoder: build, forward, save/load, training lowers the loss, reconstruction shape/range,
and the penalties do what they claim (KL is zero at the target, sparsity lowers mean activation)."""

from __future__ import annotations

import math

import pytest
import torch

from faceswap.models.serialization import ModelError, load_model, save_model
from faceswap.models.sparse import SparseAutoEncoder, kl_sparsity, l1_activity
from faceswap.training import fit


def test_build_and_bad_options():
    m = SparseAutoEncoder([10, 20, 10], penalty="l1", weight=0.1)
    assert m.config["penalty"] == "l1" and m.config["sizes"] == [10, 20, 10]
    with pytest.raises(ModelError, match="unknown sparsity penalty"):
        SparseAutoEncoder([10, 20, 10], penalty="l2")
    with pytest.raises(ModelError, match=r"\(0, 1\)"):
        SparseAutoEncoder([10, 20, 10], penalty="kl", code_activation="relu")


def test_kl_penalty_values():
    code = torch.full((4, 3), 0.05)
    assert kl_sparsity(code, 0.05).abs() < 1e-6
    half = torch.full((4, 3), 0.5)
    expected = 3 * (0.05 * math.log(0.05 / 0.5) + 0.95 * math.log(0.95 / 0.5))
    assert kl_sparsity(half, 0.05).item() == pytest.approx(expected, rel=1e-5)
    assert l1_activity(torch.ones(4, 3) * -2).item() == pytest.approx(6.0)


def test_forward_parts_and_recon_range():
    m = SparseAutoEncoder([8, 12, 8], weight=2.0)
    x = torch.rand(5, 8)
    out = m(x)
    assert set(out.parts) >= {"recon_loss", "sparsity_loss"}
    torch.testing.assert_close(out.loss.detach(), out.parts["recon_loss"] + out.parts["sparsity_loss"])
    assert out.recon.shape == x.shape and out.recon.min() >= 0 and out.recon.max() <= 1
    assert out.code.shape == (5, 12)


def test_save_load(tmp_path):
    m = SparseAutoEncoder([8, 12, 8], penalty="kl", target=0.1, weight=0.5).eval()
    save_model(m, tmp_path / "s")
    again = load_model(tmp_path / "s")
    assert isinstance(again, SparseAutoEncoder) and again.target == 0.1
    x = torch.rand(3, 8)
    torch.testing.assert_close(again(x).loss, m(x).loss)


def test_training_lowers_loss_and_kl_makes_codes_sparse():
    torch.manual_seed(0)
    x = (torch.rand(256, 16) > 0.5).float()
    batches = lambda step: x[torch.randint(0, 256, (64,), generator=torch.Generator().manual_seed(step))]  # noqa: E731
    means = {}
    for penalty, weight in (("none", 0.0), ("kl", 3.0)):
        torch.manual_seed(0)
        m = SparseAutoEncoder([16, 32, 16], penalty=penalty, target=0.05, weight=weight)
        first = m(x).loss.item()
        state = fit(m, batches, steps=300, lr=1e-2, device="cpu", amp=False, progress=False)
        m.eval()
        with torch.no_grad():
            out = m(x)
        assert out.loss.item() < 0.8 * first, (penalty, first, out.loss.item())
        means[penalty] = out.code.mean().item()
        assert state.step == 300
    assert means["kl"] < 0.12 < means["none"], means
