"""Compact weights for shipped models: 4 bits for large matrices, 8 for other
weights, float16 for the rest; loading expands them back to float32."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from faceswap.models import ModelError, load_model, save_model
from faceswap.models.compact import GROUP, pack, unpack
from faceswap.models.swap import SwapAutoEncoder
from faceswap.train.checkpoint import export_compact
from faceswap.train.presets import model_config


@pytest.fixture(scope="module")
def model() -> SwapAutoEncoder:
    torch.manual_seed(0)
    return SwapAutoEncoder(model_config("lightweight", 128, mask=True)).eval()  # two 4.2 M-weight dense layers


def test_pack_stores_fewer_bits_and_unpack_stays_within_half_a_step(model):
    state = model.state_dict()
    packed = pack(state)
    half = sum(t.numel() * 2 for t in state.values() if t.is_floating_point())
    assert sum(t.numel() * t.element_size() for t in packed.values()) < 0.4 * half
    assert any(k.endswith("::q4") for k in packed) and any(k.endswith("::q8") for k in packed)
    restored = unpack(packed)
    assert restored.keys() == state.keys()
    for name, t in state.items():
        err = (restored[name] - t).abs()
        if t.dim() == 2 and t.numel() >= 1_000_000:  # 4-bit groups: half of max/7 per group
            bound = t.abs().reshape(t.shape[0], -1, GROUP).amax(-1, keepdim=True) / 14
            assert (err.reshape(t.shape[0], -1, GROUP) <= bound * 1.15 + 1e-6).all(), name
        elif t.dim() >= 2:  # 8-bit rows: half of max/127 per output channel (plus the float16 scale's rounding)
            bound = t.abs().reshape(t.shape[0], -1).amax(-1) / 254
            assert (err.reshape(t.shape[0], -1).amax(-1) <= bound * 1.15 + 1e-6).all(), name
        else:
            assert err.max() <= t.abs().max() * 1e-3 + 1e-6, name
    assert restored[name].dtype == torch.float32


def test_export_compact_loads_as_the_same_model(model, tmp_path):
    save_model(model, tmp_path / "m")
    export_compact(tmp_path / "m", tmp_path / "shipped")
    export_compact(tmp_path / "shipped", tmp_path / "again")  # a shipped model exports to the same bytes
    assert load_file(tmp_path / "shipped" / "model.safetensors").keys() == \
        load_file(tmp_path / "again" / "model.safetensors").keys()
    shipped = load_model(tmp_path / "shipped")
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        ref, out = model.decode(model.encode(x), "b")[0], shipped.decode(shipped.encode(x), "b")[0]
    assert (out - ref).abs().mean() < 2e-3  # well under one grey level in 255


def test_a_damaged_compact_file_is_one_clear_error(model, tmp_path):
    save_model(model, tmp_path / "m")
    export_compact(tmp_path / "m", tmp_path / "shipped")
    path = tmp_path / "shipped" / "model.safetensors"
    state = load_file(path)
    del state[next(k for k in state if k.endswith("::scale"))]
    save_file(state, str(path))
    with pytest.raises(ModelError, match="do not match the model config"):
        load_model(tmp_path / "shipped")
