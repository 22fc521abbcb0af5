"""Numeric anchors from scripts/: the 8-3-8 encoder learns a 3-bit code; a linear AE matches PCA."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_mitchell_838_learns_distinct_codes():
    mitchell = _script("reproduce_mitchell")
    r = mitchell.run(seed=0, max_steps=5000)
    assert r.learned and r.distinct_codes, r.table()
    assert r.hidden.shape == (8, 3) and r.outputs.shape == (8, 8)
    assert "hot output" in r.table()


def test_linear_ae_matches_pca_and_nonlinear_beats_it(banknote_csv, tmp_path):
    pca = _script("reproduce_pca")
    r = pca.run(banknote_csv, linear_steps=300, nonlinear_steps=600)
    assert abs(r.linear_mse / r.pca_mse - 1) < 0.05, r.summary()
    assert r.nonlinear_mse < r.pca_mse, r.summary()
    png = pca.plot(r, tmp_path / "codes.png")
    assert png.stat().st_size > 1000
