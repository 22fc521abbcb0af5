"""SwapAutoEncoder: the original config's size, shapes, mask, swap, round trip, training, errors."""

import json

import pytest
import torch

from faceswap.models import ModelError, SwapAutoEncoder, SwapConfig, load_model, read_model_config, save_model


TINY = dict(resolution=16, encoder_channels=(4, 8, 8, 8), latent_dim=8, bottleneck_channels=8, decoder_channels=(8, 4, 4))


def tiny(**kw):
    torch.manual_seed(0)
    return SwapAutoEncoder(SwapConfig(**{**TINY, **kw}))


def test_original_config_is_82m_params():
    with torch.device("meta"):  # no memory, no init cost
        model = SwapAutoEncoder()
    n = sum(p.numel() for p in model.parameters())
    assert n == 82_062_470
    assert model.config["resolution"] == 64 and model.identities == ["a", "b"] and not model.has_mask


@pytest.mark.parametrize("upsample", ["pixel_shuffle", "upsample", "transpose"])
def test_shapes_and_swap(upsample):
    model = tiny(upsample=upsample, residual_blocks=1)
    x = torch.rand(2, 3, 16, 16)
    out = model(x, "a")
    assert out.recon.shape == x.shape and out.extra["mask"] is None
    assert out.code.shape == (2, 8, 2, 2)
    assert 0 <= out.recon.min() and out.recon.max() <= 1
    face, mask = model.swap(x, "b")
    assert face.shape == x.shape and mask is None


def test_mask_channel():
    model = tiny(mask=True, identities=["alice", "bob", "carol"])
    face, mask = model.decode(model.encode(torch.rand(1, 3, 16, 16)), "carol")
    assert face.shape == (1, 3, 16, 16) and mask.shape == (1, 1, 16, 16)
    assert model.decoders["bob"].out.out_channels == 4


def test_roundtrip(tmp_path):
    model = tiny(mask=True).eval()
    save_model(model, tmp_path, extra={"faceswap": {"preset": "tiny"}})
    again = load_model(tmp_path)
    assert again.config == model.config and read_model_config(tmp_path)["extra"]["faceswap"]["preset"] == "tiny"
    x = torch.rand(2, 3, 16, 16)
    f1, m1 = model.swap(x, "b")
    f2, m2 = again.swap(x, "b")
    assert torch.equal(f1, f2) and torch.equal(m1, m2)


def test_training_lowers_both_losses():
    model = tiny()
    xa, xb = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16) * 0.5
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = model(xa, "a").loss.item() + model(xb, "b").loss.item()
    for _ in range(15):
        opt.zero_grad()
        (model(xa, "a").loss + model(xb, "b").loss).backward()
        opt.step()
    assert model(xa, "a").loss.item() + model(xb, "b").loss.item() < first


def test_bad_saved_config_names_the_file(tmp_path):
    save_model(tiny(), tmp_path)
    doc = read_model_config(tmp_path)
    doc["config"]["resolution"] = 24
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=r"config.json: SwapConfig.resolution 24 must be a positive multiple of 16"):
        load_model(tmp_path)


def test_errors():
    with pytest.raises(ModelError, match="multiple of 16"):
        tiny(resolution=40)
    with pytest.raises(ModelError, match="identities is empty"):
        tiny(identities=())
    with pytest.raises(ModelError, match="duplicates"):
        tiny(identities=("a", "a"))
    with pytest.raises(ModelError, match="upsample 'nearest' unknown"):
        tiny(upsample="nearest")
    with pytest.raises(ModelError, match="unknown field"):
        SwapAutoEncoder({"resolutoin": 64})
    model = tiny()
    with pytest.raises(ModelError, match=r"unknown identity 'c'.*a, b"):
        model.swap(torch.rand(1, 3, 16, 16), "c")
    with pytest.raises(ModelError, match="expected faces of shape"):
        model.encode(torch.rand(1, 3, 32, 32))
