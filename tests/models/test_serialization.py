"""save_model / load_model: format, atomicity, clear errors."""

import json

import pytest
import torch
from torch import nn

from faceswap.models import ModelError, dense_autoencoder, load_model, read_model_config, register_model, save_model
from faceswap.models import serialization


def _model():
    torch.manual_seed(0)
    return dense_autoencoder([4, 2, 4], "tanh")


def test_format(tmp_path):
    save_model(_model(), tmp_path, extra={"step": 3})
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["version"] == 1 and doc["type"] == "DenseAutoEncoder" and doc["extra"] == {"step": 3}
    assert read_model_config(tmp_path) == doc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_newer_version_and_missing(tmp_path):
    save_model(_model(), tmp_path)
    doc = json.loads((tmp_path / "config.json").read_text())
    doc["version"] = 2
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="version 2 is newer"):
        load_model(tmp_path)
    with pytest.raises(ModelError, match="config.json: not found"):
        load_model(tmp_path / "nope")
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(tmp_path)


def test_corrupt_or_missing_weights(tmp_path):
    save_model(_model(), tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(ModelError, match="model.safetensors: cannot read weights"):
        load_model(tmp_path)
    weights.unlink()
    with pytest.raises(ModelError, match="weights file not found"):
        load_model(tmp_path)


def test_mismatched_weights_and_unknown_type(tmp_path):
    save_model(_model(), tmp_path)
    doc = json.loads((tmp_path / "config.json").read_text())
    doc["config"]["sizes"] = [4, 3, 4]
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="do not match"):
        load_model(tmp_path)
    doc["type"] = "Nope"
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="unknown model type 'Nope'"):
        load_model(tmp_path)
    doc["type"], doc["config"] = "DenseAutoEncoder", {"sizes": [4, 2, 4], "bogus": 1}
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="cannot build DenseAutoEncoder"):
        load_model(tmp_path)


def test_unregistered_and_unjsonable(tmp_path):
    with pytest.raises(ModelError, match="not a registered model"):
        save_model(nn.Linear(2, 2), tmp_path)
    with pytest.raises(ModelError, match="not JSON-able"):
        save_model(_model(), tmp_path, extra={"x": object()})


def test_failed_write_keeps_previous(tmp_path, monkeypatch):
    model = _model()
    save_model(model, tmp_path)
    before = (tmp_path / "model.safetensors").read_bytes()
    import safetensors.torch

    def boom(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    load_model(tmp_path)


def test_tied_weights_save(tmp_path):
    @register_model(name="_TiedForTest")
    class Tied(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.config = {"n": n}
            self.a = nn.Linear(n, n, bias=False)
            self.b = nn.Linear(n, n, bias=False)
            self.b.weight = self.a.weight

    model = Tied()
    save_model(model, tmp_path)
    again = load_model(tmp_path)
    assert torch.equal(again.a.weight, model.a.weight) and again.b.weight is again.a.weight
    assert "_TiedForTest" in serialization.registered_models()
