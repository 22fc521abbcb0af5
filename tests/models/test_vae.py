"""VAE: build, forward, save/load, training lowers the loss, samples have the right shape and range;
the KL matches torch.distributions (sign: >= 0, added to the loss), the importance-sampled
log-likelihood is above the ELBO, and beta > 1 gives a smaller KL."""

from __future__ import annotations

import pytest
import torch

from faceswap.models.likelihoods import GaussianLikelihood
from faceswap.models.serialization import ModelError, load_model, save_model
from faceswap.models.vae import VAE, gaussian_kl
from faceswap.training import fit


def toy_data(n=256, seed=0):
    """Binary 16-pixel patterns generated from 2 hidden bits (with a little pixel noise)."""
    g = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (n, 2), generator=g).float()
    protos = torch.tensor([[1.0] * 8 + [0.0] * 8, [0.0, 1.0] * 8])
    x = ((bits @ protos) > 0).float()
    flip = torch.rand(x.shape, generator=g) < 0.03
    return torch.where(flip, 1 - x, x).reshape(n, 1, 4, 4)


def test_kl_matches_torch_and_is_nonnegative():
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    torch.testing.assert_close(gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1))
    assert (gaussian_kl(mu, logvar) >= 0).all() and gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0


def test_build_forward_parts_and_shapes():
    m = VAE(16, (8,), 2, image_shape=(1, 4, 4))
    x = toy_data(6)
    out = m(x)
    assert out.recon.shape == x.shape and out.code.shape == (6, 2)
    torch.testing.assert_close(out.loss.detach(), out.parts["recon_loss"] + out.parts["kl"])
    torch.testing.assert_close(out.parts["elbo"], -out.loss.detach())
    s = m.sample(7)
    assert s.shape == (7, 1, 4, 4) and s.min() >= 0 and s.max() <= 1
    with pytest.raises(ModelError, match="image_shape"):
        VAE(16, (8,), 2, image_shape=(1, 5, 5))


def test_save_load_with_gaussian_likelihood(tmp_path):
    m = VAE(16, (8,), 3, likelihood=GaussianLikelihood(learn_variance=True), beta=2.0).eval()
    save_model(m, tmp_path / "v")
    again = load_model(tmp_path / "v")
    assert again.beta == 2.0 and again.likelihood.learn_variance
    z = torch.randn(4, 3)
    torch.testing.assert_close(again.sample(4, z), m.sample(4, z))


def train(beta, steps=500, seed=0):
    torch.manual_seed(seed)
    x = toy_data()
    m = VAE(16, (32,), 2, beta=beta, image_shape=(1, 4, 4))
    first = m(x).loss.item()
    fit(m, lambda s: x[torch.randint(0, 256, (64,), generator=torch.Generator().manual_seed(s))],
        steps=steps, lr=1e-2, device="cpu", amp=False, progress=False)
    return m.eval(), x, first


def test_training_lowers_loss_and_iwae_bound_is_above_elbo():
    m, x, first = train(beta=1.0)
    torch.manual_seed(1)
    with torch.no_grad():
        elbo = torch.stack([m(x).parts["elbo"] for _ in range(20)]).mean()
    assert -elbo < 0.5 * first
    ll = m.log_likelihood(x, k=64).mean()
    assert ll >= elbo - 0.05, (ll.item(), elbo.item())
    recon = m.reconstruct(x)
    assert recon.shape == x.shape and ((recon > 0.5).float() == x).float().mean() > 0.9


def test_beta_above_one_shrinks_kl():
    kl = {}
    for beta in (1.0, 6.0):
        m, x, _ = train(beta=beta, steps=300)
        torch.manual_seed(2)
        with torch.no_grad():
            kl[beta] = m(x).parts["kl"].item()
    assert kl[6.0] < kl[1.0], kl
