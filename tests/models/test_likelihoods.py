"""Likelihoods: NLL matches torch.distributions, sums over data dims, samples have the right shape/range."""

from __future__ import annotations

import pytest
import torch

from faceswap.models.likelihoods import (
    BernoulliLikelihood,
    CategoricalLikelihood,
    GaussianLikelihood,
    get_likelihood,
)


def test_gaussian_fixed_sigma_matches_normal():
    lik = GaussianLikelihood(sigma=0.5)
    mu, x = torch.randn(4, 3, 5, 5), torch.randn(4, 3, 5, 5)
    ref = torch.distributions.Normal(mu, 0.5).log_prob(x).sum(dim=(1, 2, 3))
    assert lik.params_per_channel == 1
    torch.testing.assert_close(lik.nll(mu, x), -ref)


def test_gaussian_learned_variance_matches_normal():
    lik = GaussianLikelihood(learn_variance=True)
    mu, logvar, x = torch.randn(4, 10), torch.randn(4, 10).clamp(-3, 3), torch.randn(4, 10)
    params = torch.cat([mu, logvar], dim=1)
    ref = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(x).sum(dim=1)
    assert lik.params_per_channel == 2
    torch.testing.assert_close(lik.nll(params, x), -ref)
    assert lik.sample(params).shape == x.shape
    torch.testing.assert_close(lik.mean(params), mu)


def test_bernoulli_matches_torch_and_samples_are_binary():
    lik = BernoulliLikelihood()
    logits, x = torch.randn(3, 1, 4, 4), torch.rand(3, 1, 4, 4).round()
    ref = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(lik.nll(logits, x), -ref)
    s = lik.sample(logits)
    assert s.shape == x.shape and set(s.unique().tolist()) <= {0.0, 1.0}
    assert 0 <= lik.mean(logits).min() and lik.mean(logits).max() <= 1


def test_categorical_quantises_and_samples_in_range():
    lik = CategoricalLikelihood(num_classes=4)
    params = torch.randn(2, 3 * 4, 5, 5)  # C=3 channels, 4 levels each
    x = torch.rand(2, 3, 5, 5)
    logits = params.view(2, 3, 4, 5, 5).movedim(2, -1)
    ref = torch.distributions.Categorical(logits=logits).log_prob(lik.quantise(x)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(lik.nll(params, x), -ref)
    for out in (lik.sample(params), lik.mean(params)):
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    # a decoder that puts all mass on the right level gets ~zero NLL
    target = lik.quantise(x)
    sharp = torch.nn.functional.one_hot(target, 4).movedim(-1, 2).float().reshape(2, 12, 5, 5) * 50
    assert lik.nll(sharp, x).max() < 1e-6


def test_config_round_trip_and_unknown_name():
    for lik in (GaussianLikelihood(learn_variance=True, sigma=0.3), BernoulliLikelihood(),
                CategoricalLikelihood(8)):
        again = type(lik)(**lik.config)
        assert again.config == lik.config
    assert isinstance(get_likelihood("bernoulli"), BernoulliLikelihood)
    with pytest.raises(ValueError, match="unknown likelihood"):
        get_likelihood("poisson")


def test_autoencoder_with_likelihood_saves_and_loads(tmp_path):
    from faceswap.models.autoencoder import DenseAutoEncoder
    from faceswap.models.serialization import load_model, save_model

    lik = GaussianLikelihood(learn_variance=True)
    ae = DenseAutoEncoder([6, 3, 12], recon_loss=lik)  # decoder gives mean + log-variance
    x = torch.rand(5, 6)
    out = ae(x)
    assert out.recon.shape == x.shape and out.loss.dim() == 0
    save_model(ae, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert isinstance(again.likelihood, GaussianLikelihood) and again.likelihood.learn_variance
    torch.testing.assert_close(again(x).loss, ae.eval()(x).loss)


def test_learned_variance_is_trainable():
    """Fitting mu and log-variance to data by NLL recovers its mean and spread."""
    torch.manual_seed(0)
    x = 2.0 + 0.5 * torch.randn(512, 1)
    params = torch.zeros(1, 2, requires_grad=True)
    lik = GaussianLikelihood(learn_variance=True)
    opt = torch.optim.Adam([params], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        lik.nll(params.expand(512, 2), x).mean().backward()
        opt.step()
    assert abs(params[0, 0].item() - 2.0) < 0.1
    assert abs(torch.exp(0.5 * params[0, 1]).item() - 0.5) < 0.05
