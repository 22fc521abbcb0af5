"""fit: loss falls, exact resume, weights_only checkpoints, atomic saves, interrupts, budgets, callbacks."""

import json

import pytest
import torch
from torch import nn

from faceswap.models import ModelOutput, dense_autoencoder, load_model
from faceswap.models import register_model
from faceswap.training import TRAINER_FILE, Callback, FitState, fit


def data(step: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 + step)
    return torch.rand(8, 6, generator=g)


def model():
    torch.manual_seed(0)
    return dense_autoencoder([6, 4, 3, 4, 6], "tanh")


def test_loss_falls_and_history():
    m = model()
    state = fit(m, data, steps=60, lr=1e-2, progress=False, seed=0)
    assert isinstance(state, FitState) and state.step == 60 and len(state.history) == 60
    assert state.history[-1]["loss"] < 0.5 * state.history[0]["loss"]
    assert set(state.parts) == {"recon_loss"} and state.stopped == "steps"


@register_model(name="_NoisyForTest")
class Noisy(nn.Module):
    """Dropout and torch RNG in forward: an exact resume must restore the RNG state too."""

    config: dict = {}

    def __init__(self):
        super().__init__()
        self.ae = model()
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.ae(self.drop(x) + 0.01 * torch.randn_like(x), target=x)


def test_resume_is_exact(tmp_path):
    ref = Noisy()
    fit(ref, data, steps=8, seed=1, progress=False)

    a = Noisy()
    s1 = fit(a, data, steps=4, seed=1, progress=False, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert s1.step == 4
    b = Noisy()
    torch.manual_seed(123)  # different weights and RNG: the resume must restore both
    nn.init.normal_(b.ae.encoder[0].weight)
    s2 = fit(b, data, steps=8, seed=1, progress=False, checkpoint_dir=tmp_path)
    assert s2.step == 8 and len(s2.history) == 8
    assert all(torch.equal(p, q) for p, q in zip(ref.parameters(), b.parameters()))
    state = torch.load(tmp_path / TRAINER_FILE, weights_only=True)
    assert state["step"] == 8 and "optimizer" in state and "rng" in state


def test_checkpoint_files_and_extra(tmp_path):
    m = model()
    fit(m, data, steps=3, progress=False, checkpoint_dir=tmp_path, extra=lambda s: {"app": {"step": s.step}})
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["extra"]["app"] == {"step": 3} and doc["extra"]["fit"] == {"step": 3}
    torch.load(tmp_path / TRAINER_FILE, weights_only=True)
    again = load_model(tmp_path)
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), again.parameters()))


@pytest.mark.parametrize("where", ["trainer", "weights"])
def test_kill_during_save_keeps_previous(tmp_path, monkeypatch, where):
    m = model()
    fit(m, data, steps=2, progress=False, checkpoint_dir=tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    import safetensors.torch

    module, name = (torch, "save") if where == "trainer" else (safetensors.torch, "save_file")
    real = getattr(module, name)

    def dying(obj, f, *a, **k):
        real(obj, f, *a, **k)
        raise KeyboardInterrupt  # killed after writing the temp file, before the rename

    monkeypatch.setattr(module, name, dying)
    with pytest.raises(KeyboardInterrupt):
        fit(m, data, steps=4, progress=False, checkpoint_dir=tmp_path)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # the whole step-2 checkpoint, no temp files left
    assert torch.load(tmp_path / TRAINER_FILE, weights_only=True)["step"] == 2
    load_model(tmp_path)
    resumed = fit(model(), data, steps=3, progress=False, checkpoint_dir=tmp_path)
    assert resumed.step == 3 and len(resumed.history) == 3


def test_ctrl_c_saves_then_reraises(tmp_path):
    def interrupt(state):
        raise KeyboardInterrupt

    m = model()
    with pytest.raises(KeyboardInterrupt):
        fit(m, data, steps=10, progress=False, checkpoint_dir=tmp_path, callbacks=[Callback(3, interrupt)])
    assert torch.load(tmp_path / TRAINER_FILE, weights_only=True)["step"] == 3


def test_time_budget_callbacks_and_batch_forms(tmp_path):
    seen = []
    state = fit(model(), data, steps=1000, time_budget=0.0, progress=False, checkpoint_dir=tmp_path,
                callbacks=[Callback(1, lambda s: seen.append(s.step))])
    assert state.stopped == "time_budget" and state.step == 1 and seen == [1]
    assert torch.load(tmp_path / TRAINER_FILE, weights_only=True)["step"] == 1

    class Two(nn.Module):  # the face trainer's shape: two batches in, loss_a / loss_b out
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, a, b):
            la, lb = (self.lin(a) - a).pow(2).mean(), (self.lin(b) - b).pow(2).mean()
            return ModelOutput(loss=la + lb, parts={"loss_a": la, "loss_b": lb})

    two = Two()
    s = fit(two, [{"a": torch.ones(2, 3), "b": torch.zeros(2, 3)}] * 2, steps=5, progress=True, grad_clip=1.0)
    assert s.step == 5 and set(s.parts) == {"loss_a", "loss_b"}  # the list is re-iterated
    s = fit(two, iter([(torch.ones(2, 3), torch.zeros(2, 3))]), steps=5, progress=False)
    assert s.step == 1 and s.stopped == "data"
    stop = fit(two, lambda i: (torch.ones(2, 3), torch.ones(2, 3)), steps=9, progress=False,
               callbacks=[Callback(2, lambda st: setattr(st, "stop", True))])
    assert stop.step == 2 and stop.stopped == "callback"


def test_unregistered_model_with_checkpoint_dir_fails_early(tmp_path):
    with pytest.raises(ValueError, match="not a registered model"):
        fit(nn.Linear(2, 2), lambda i: torch.ones(1, 2), steps=1, progress=False, checkpoint_dir=tmp_path)


def test_resume_checks(tmp_path):
    fit(model(), data, steps=2, progress=False, checkpoint_dir=tmp_path)
    doc = json.loads((tmp_path / "config.json").read_text())
    doc["extra"]["fit"]["step"] = 5  # as if killed between the weights' and trainer.pt's renames
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="weights are from step 5 but trainer.pt from step 2"):
        assert fit(model(), data, steps=2, progress=False, checkpoint_dir=tmp_path).step == 2
    with pytest.raises(ValueError, match="different model"):
        fit(dense_autoencoder([6, 2, 6]), data, steps=3, progress=False, checkpoint_dir=tmp_path)
    (tmp_path / TRAINER_FILE).write_bytes(b"junk")
    with pytest.raises(ValueError, match="trainer.pt: cannot read trainer state"):
        fit(model(), data, steps=3, progress=False, checkpoint_dir=tmp_path)
