"""faceswap refine: a detail upsampler trained inside a model directory, found by convert."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.train import train
from faceswap.train.refine import detail_dir, load_detail, refine

from .conftest import make_faceset


@pytest.fixture
def model(tiny_preset, tmp_path):
    a = make_faceset(tmp_path / "a", size=64, hue=0)
    b = make_faceset(tmp_path / "b", size=64, hue=60)
    train(a, b, tmp_path / "m", preset=tiny_preset, iterations=3, progress=False, threads=1)
    return tmp_path / "m"


def test_refine_trains_resumes_and_loads_in_a_fresh_process(model):
    out = refine(model, scale=4, steps=20, progress=False, threads=1)
    assert out["identity"] == "b" and out["step"] == 20
    assert (detail_dir(model, "b") / "model.safetensors").is_file()
    assert refine(model, scale=4, steps=30, progress=False, threads=1)["step"] == 30  # resumed, a total
    net = load_detail(model, "b")
    assert net.upscale(torch.rand(1, 3, 16, 16)).shape == (1, 3, 64, 64)
    # a new process that never imported the model's module still finds its type
    code = f"from faceswap.train.refine import load_detail; assert load_detail({str(model)!r}, 'b') is not None"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert load_detail(model, "a") is None


def test_refine_scale_defaults_to_what_the_crops_allow(tiny_preset, tmp_path):
    """x4 where the crops are four times the model (a 16 px model, 64 px crops),
    x2 for a model of twice the resolution on the same crops: faces come out at
    the crop size either way."""
    a = make_faceset(tmp_path / "a", size=64, hue=0)
    b = make_faceset(tmp_path / "b", size=64, hue=60)
    for res, scale in ((16, 4), (32, 2)):
        m = tmp_path / f"m{res}"
        train(a, b, m, preset=tiny_preset, resolution=res, iterations=2, progress=False, threads=1)
        refine(m, steps=2, progress=False, threads=1)
        net = load_detail(m, "b")
        assert net.scale == scale
        assert net.upscale(torch.rand(1, 3, res, res)).shape == (1, 3, 64, 64)


def test_refine_refuses_small_faces_and_unknown_identity(model, capsys):
    with pytest.raises(FaceswapError, match="--to 'c'"):
        refine(model, identity="c", steps=1, progress=False)
    # 64 px crops of a 16 px model allow x4 but not x8; --scale 3 is refused at the CLI
    assert main(["refine", str(model), "--scale", "3", "--no-progress"]) == 1
    assert "--scale 3" in capsys.readouterr().err
