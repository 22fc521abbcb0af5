"""The face priors in weights/: what `train --init` starts from must be a real
face prior, for people it never saw, and never one of the benchmark pair."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from faceswap.cli import main
from faceswap.models.swap import SwapAutoEncoder
from faceswap.train import load_swap_model
from faceswap.train.data import load_faces
from faceswap.video import cut_clip

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
PRIORS = {"prior": 64, "prior128": 128}


@pytest.fixture(scope="module")
def unseen_faces(faces_dir, tmp_path_factory) -> Path:
    """24 aligned faces of d6, a person no prior was trained on."""
    tmp = tmp_path_factory.mktemp("unseen")
    cut_clip(faces_dir / "d6.mp4", tmp / "d6.mp4", 24)
    assert main(["extract", str(tmp / "d6.mp4"), "-o", str(tmp / "faces"), "--no-progress"]) == 0
    return tmp / "faces"


@pytest.mark.parametrize("name", sorted(PRIORS))
def test_shipped_prior_draws_faces_it_never_saw(name, unseen_faces):
    model, meta = load_swap_model(WEIGHTS / name)
    assert (meta["preset"], model.resolution, model.has_mask) == ("lightweight", PRIORS[name], True)
    seen = {Path(f).name for key in ("faceset_a", "faceset_b") for f in meta[key]}
    assert len(seen) >= 10 and not seen & {"d6", "d10"}  # the pair scripts/bench_quality.py measures
    faces = load_faces(unseen_faces, model.resolution).images.permute(0, 3, 1, 2).float() / 255
    fresh = SwapAutoEncoder(model.swap_config).eval()
    with torch.no_grad():
        errors = {}
        for label, net in (("prior", model.eval()), ("fresh", fresh)):
            errors[label] = min((net.decode(net.encode(faces), who)[0] - faces).abs().mean().item() for who in "ab")
    assert errors["prior"] < 0.12 and errors["prior"] < errors["fresh"] / 1.6, errors
