"""AutoEncoder: reduction convention, losses, builders (build, shapes, round trip, training, errors)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from faceswap.models import (
    AutoEncoder,
    ModelError,
    ModelOutput,
    conv_autoencoder,
    dense_autoencoder,
    load_model,
    reduce_loss,
    register_model,
    save_model,
)


def test_reduce_loss_sums_data_dims_and_averages_batch():
    v = torch.arange(24.0).reshape(2, 3, 4)
    assert reduce_loss(v) == v.sum() / 2
    assert reduce_loss(torch.tensor([1.0, 3.0])) == 2.0
    # doubling the batch with copies leaves it unchanged; doubling the data dims doubles it
    assert reduce_loss(torch.cat([v, v])) == reduce_loss(v)
    assert reduce_loss(torch.cat([v, v], dim=2)) == 2 * reduce_loss(v)


@pytest.mark.parametrize(
    "name,ref",
    [
        ("mse", lambda p, x: F.mse_loss(p, x, reduction="sum") / len(x)),
        ("l1", lambda p, x: F.l1_loss(p, x, reduction="sum") / len(x)),
        ("bce", lambda p, x: F.binary_cross_entropy(p, x, reduction="sum") / len(x)),
    ],
)
def test_named_losses_follow_convention(name, ref):
    torch.manual_seed(0)
    model = AutoEncoder(nn.Identity(), nn.Sigmoid(), recon_loss=name)
    x = torch.rand(4, 2, 3)
    out = model(torch.randn(4, 2, 3), target=x)
    torch.testing.assert_close(out.loss, ref(out.recon, x))
    assert isinstance(out, ModelOutput) and set(out.parts) == {"recon_loss"}


def test_bce_logits_recon_is_sigmoid():
    model = AutoEncoder(nn.Identity(), nn.Identity(), recon_loss="bce_logits")
    z = torch.randn(3, 5)
    x = torch.rand(3, 5)
    out = model(z, target=x)
    torch.testing.assert_close(out.recon, torch.sigmoid(z))
    torch.testing.assert_close(out.loss, F.binary_cross_entropy_with_logits(z, x, reduction="sum") / 3)


def test_likelihood_object():
    class Half:
        def nll(self, params, x):
            return 0.5 * ((params - x) ** 2).sum(dim=1)

    model = AutoEncoder(nn.Identity(), nn.Identity(), recon_loss=Half())
    out = model(torch.ones(2, 3), target=torch.zeros(2, 3))
    assert out.loss.item() == pytest.approx(1.5)
    with pytest.raises(ModelError, match="recon_loss"):
        AutoEncoder(nn.Identity(), nn.Identity(), recon_loss=42)
    with pytest.raises(ModelError, match="unknown recon_loss"):
        AutoEncoder(nn.Identity(), nn.Identity(), recon_loss="huber")


def _train(model, x, steps=30, lr=1e-2):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = model(x).loss.item()
    for _ in range(steps):
        opt.zero_grad()
        model(x).loss.backward()
        opt.step()
    return first, model(x).loss.item()


BUILDS = {
    "dense": (lambda: dense_autoencoder([6, 4, 2, 4, 6], "tanh"), (5, 6)),
    "dense_bce": (lambda: dense_autoencoder([6, 3, 6], "sigmoid", "sigmoid", recon_loss="bce"), (5, 6)),
    "conv_map": (lambda: conv_autoencoder(1, [4, 8]), (2, 1, 8, 8)),
    "conv_latent_ps": (lambda: conv_autoencoder(3, [4, 8], latent_dim=6, resolution=8, upsample="pixel_shuffle"), (2, 3, 8, 8)),
    "conv_transpose": (lambda: conv_autoencoder(2, [4], upsample="transpose", recon_loss="l1"), (2, 2, 4, 4)),
}


@pytest.mark.parametrize("name", BUILDS)
def test_build_forward_roundtrip_train(name, tmp_path):
    build, shape = BUILDS[name]
    torch.manual_seed(0)
    model = build()
    x = torch.rand(shape)
    out = model(x)
    assert out.recon.shape == x.shape and out.loss.dim() == 0
    save_model(model, tmp_path / "m", extra={"note": name})
    again = load_model(tmp_path / "m")
    assert type(again) is type(model) and again.config == model.config
    model.eval()
    assert torch.equal(again(x).recon, model(x).recon)
    model.train()
    first, last = _train(model, x)
    assert last < first


def test_builder_errors():
    with pytest.raises(ModelError, match="odd-length"):
        dense_autoencoder([4, 2])
    with pytest.raises(ModelError, match="positive integers"):
        dense_autoencoder([4, 0, 4])
    with pytest.raises(ModelError, match="unknown upsample kind"):
        conv_autoencoder(1, [4], upsample="deconv")
    with pytest.raises(ModelError, match="multiple of 4"):
        conv_autoencoder(1, [4, 4], latent_dim=3, resolution=10)
    with pytest.raises(ModelError, match="needs resolution"):
        conv_autoencoder(1, [4], latent_dim=3)
    with pytest.raises(ModelError, match="unknown activation"):
        dense_autoencoder([4, 2, 4], "relu6")


@register_model(name="_HalfSquaredForTest")
class HalfSquared:
    """A registered likelihood object: saved in the model config as {"type", "config"}."""

    def __init__(self, scale: float = 0.5):
        self.scale = scale

    @property
    def config(self):
        return {"scale": self.scale}

    def nll(self, params, x):
        return self.scale * ((params - x) ** 2).flatten(1).sum(1)


def test_likelihood_object_saves_in_config(tmp_path):
    torch.manual_seed(0)
    model = dense_autoencoder([3, 2, 3], "tanh", recon_loss=HalfSquared(0.25))
    save_model(model, tmp_path)
    again = load_model(tmp_path)
    assert again.config["recon_loss"] == {"type": "_HalfSquaredForTest", "config": {"scale": 0.25}}
    x = torch.rand(4, 3)
    assert torch.equal(again(x).loss, model.eval()(x).loss)
    anon = dense_autoencoder([3, 2, 3], recon_loss=type("Anon", (), {"nll": lambda s, p, x: p.sum(1)})())
    assert anon(x).loss.dim() == 0  # usable; only saving needs a registered likelihood
    with pytest.raises(ModelError, match="not JSON-able.*unregistered recon_loss Anon"):
        save_model(anon, tmp_path / "anon")
