"""pretrain + train --init: a prior of many people, and a model started from it."""

from __future__ import annotations

import pytest
import torch

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.train import load_swap_model, train
from faceswap.train.pretrain import pretrain

from .conftest import make_faceset


@pytest.fixture
def people(tmp_path):
    return [make_faceset(tmp_path / f"p{i}", hue=20 * i) for i in range(4)]


def test_prior_starts_a_model_with_its_weights(tiny_preset, people, facesets, tmp_path):
    prior = tmp_path / "prior"
    s = pretrain(people, prior, preset=tiny_preset, iterations=30, progress=False, threads=1)
    assert s.step == 30 and s.last["loss_a"] < s.first["loss_a"]
    train(*facesets, tmp_path / "m", preset=tiny_preset, iterations=0, init=prior, progress=False, threads=1)
    started, meta = load_swap_model(tmp_path / "m")
    weights, _ = load_swap_model(prior)
    for (name, p), q in zip(started.state_dict().items(), weights.state_dict().values()):
        assert torch.equal(p, q), name
    assert meta["init"] == str(prior.resolve())
    # running the same command again resumes the model (the prior is not applied twice) and says so
    with pytest.warns(UserWarning, match="resuming it, the prior is not used"):
        s = train(*facesets, tmp_path / "m", preset=tiny_preset, iterations=2, init=prior, progress=False, threads=1)
    assert s.start_step == 0 and s.step == 2


def test_prior_lowers_the_first_loss(tiny_preset, people, facesets, tmp_path):
    pretrain(people, tmp_path / "prior", preset=tiny_preset, iterations=80, progress=False, threads=1)
    cold = train(*facesets, tmp_path / "cold", preset=tiny_preset, iterations=5, progress=False, threads=1)
    warm = train(*facesets, tmp_path / "warm", preset=tiny_preset, iterations=5, init=tmp_path / "prior",
                 progress=False, threads=1)
    assert warm.first["loss_a"] < cold.first["loss_a"]


def test_init_of_another_preset_or_resolution_is_one_line(tiny_preset, people, facesets, tmp_path, capsys):
    pretrain(people, tmp_path / "prior", preset=tiny_preset, iterations=2, progress=False, threads=1)
    with pytest.raises(FaceswapError, match="the prior is preset tiny at 16 px"):
        train(*facesets, tmp_path / "m", preset=tiny_preset, resolution=32, iterations=1, init=tmp_path / "prior",
              progress=False, threads=1)
    code = main(["train", str(facesets[0]), str(facesets[1]), "-m", str(tmp_path / "m2"), "--preset", "tiny",
                 "--mask", "-i", "1", "--init", str(tmp_path / "prior"), "--no-progress"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("faceswap: error")]
    assert code == 1 and len(err) == 1 and "--init" in err[0] and "mask" in err[0]
    assert main(["train", str(facesets[0]), str(facesets[1]), "-m", str(tmp_path / "m3"), "-i", "1", "-p", "tiny",
                 "--init", str(facesets[0]), "--no-progress"]) == 1
    assert "not a model directory" in capsys.readouterr().err


def test_init_without_resolution_takes_the_priors(tiny_preset, people, facesets, tmp_path):
    """A 32 px prior of a 16 px preset: `train --init` alone gives a 32 px model
    (as `--init weights/prior128` gives a 128 px one); a resumed model keeps its own."""
    pretrain(people, tmp_path / "prior", preset=tiny_preset, resolution=32, iterations=2, progress=False, threads=1)
    facesets = [make_faceset(tmp_path / n, size=32, hue=h) for n, h in (("a32", 0), ("b32", 90))]
    assert main(["train", str(facesets[0]), str(facesets[1]), "-m", str(tmp_path / "m"), "-p", "tiny", "-i", "1",
                 "--init", str(tmp_path / "prior"), "--no-progress"]) == 0
    assert load_swap_model(tmp_path / "m")[0].resolution == 32
    s = train(*facesets, tmp_path / "m", preset=tiny_preset, iterations=2, progress=False, threads=1)
    assert s.resolution == 32 and s.step == 2


def test_pretrain_needs_two_distinct_people(people, tmp_path):
    with pytest.raises(FaceswapError, match="two or more"):
        pretrain(people[:1], tmp_path / "p")
    with pytest.raises(FaceswapError, match="given twice"):
        pretrain([people[0], people[0]], tmp_path / "p")
