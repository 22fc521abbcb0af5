"""A built wheel works anywhere: installed into a fresh environment outside the
repository, `faceswap demo` and `faceswap train --init prior128` run from an
empty folder, with the shipped weights found by name.

The wheel is built from a copy of the sources (so no build/ or *.egg-info lands
in the repository), offline and against this interpreter's setuptools. The fresh
environment reuses this interpreter's installed packages (torch and the rest)
through a .pth file; only faceswap itself comes from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("setuptools")
pytest.importorskip("skimage")  # the demo's faces
pytest.importorskip("matplotlib")


def _run(args, cwd, env, timeout=300) -> subprocess.CompletedProcess:
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("faceswap", "weights"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", dist], cwd=src, env=dict(os.environ))
    (path,) = dist.glob("faceswap-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """A fresh venv outside the repository with the wheel installed; (bin folder, env)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", venv], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # `venv --system-site-packages` would reach the base interpreter's packages,
    # not this (virtual) environment's, so point at ours explicitly.
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    Path(site, "_reuse_test_env.pth").write_text("\n".join(ours) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(OMP_NUM_THREADS="1", PYTHONNOUSERSITE="1")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         cwd=venv, env=env)
    return bindir, env


def test_wheel_carries_the_package_and_the_shipped_weights(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "faceswap").rglob("*.py") if "__pycache__" not in p.parts}
    assert sources - names == set(), "modules missing from the wheel (add their package to pyproject.toml)"
    for model in ("demo", "prior", "prior128", "demo/detail_b", "occluder", "face_region"):
        assert {f"faceswap/_weights/{model}/config.json", f"faceswap/_weights/{model}/model.safetensors"} <= names
    # the landmark model is data only (its graph is in the safetensors metadata), with its licence beside it
    assert {"faceswap/_weights/face_mesh/model.safetensors", "faceswap/_weights/face_mesh/LICENSE"} <= names
    assert not [n for n in names if n.endswith(".png")], "pictures belong to the repository, not the wheel"


def test_demo_and_train_from_a_shipped_prior_run_anywhere(installed, tmp_path):
    bindir, env = installed
    faceswap = bindir / ("faceswap.exe" if os.name == "nt" else "faceswap")
    where = _run([bindir / "python", "-c", "import faceswap; print(faceswap.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(bindir.parent), where.stdout  # the wheel, not the repository

    _run([faceswap, "demo", "-o", "demo-output"], cwd=tmp_path, env=env)
    assert (tmp_path / "demo-output" / "a_as_b.mp4").is_file()

    faces = tmp_path / "demo-output" / "faces"
    _run([faceswap, "train", faces / "a", faces / "b", "-m", "model", "--init", "prior128", "--mask",
          "--iterations", "2", "--threads", "1", "--no-progress"], cwd=tmp_path, env=env)
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["extra"]["faceswap"]["resolution"] == 128  # the prior's
    assert config["extra"]["faceswap"]["step"] == 2

    wrong = subprocess.run([faceswap, "train", faces / "a", faces / "b", "-m", "other", "--init", "prior256"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert wrong.returncode == 1
    line = wrong.stderr.strip()
    assert "\n" not in line and "prior256" in line and "prior128" in line and "demo" in line, line
