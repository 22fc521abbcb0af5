"""`faceswap export`: the ONNX graph matches torch within 1e-3; the DFM file
loads the way DeepFaceLive loads one (input names, shapes, output order) and
paints B's face; bad input is one line naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from faceswap.cli import main
from faceswap.errors import FaceswapError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "weights" / "demo"


@pytest.fixture(autouse=True)
def _needs_onnx():
    """The onnx extra: skipped where it is not installed, a failure under CI."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        if os.environ.get("CI"):
            pytest.fail("the onnx extra (onnx, onnxruntime) must be installed under CI")
        pytest.skip("the onnx extra is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from faceswap.convert.export import export

    out = tmp_path_factory.mktemp("export")
    return {fmt: export(DEMO, out / f"demo.{fmt}").output for fmt in ("onnx", "dfm")}


def test_onnx_graph_matches_torch(exported):
    from faceswap.convert.export import OnnxSwapper
    from faceswap.train import load_swap_model
    from faceswap.train.refine import load_detail

    model, _ = load_swap_model(DEMO)
    detail = load_detail(DEMO, "b", "cpu", model.resolution)
    x = torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        face, mask = model.swap(x, "b")
        face = detail(face).recon.clamp(0, 1)
    session = OnnxSwapper(exported["onnx"]).session
    got_face, got_mask = session.run(None, {"face": x.numpy()})
    assert got_face.shape == (3, 3, 256, 256) and got_mask.shape == (3, 1, 128, 128)
    assert np.abs(got_face - face.numpy()).max() < 1e-3
    assert np.abs(got_mask - mask.numpy()).max() < 1e-3


def _aligned(image: np.ndarray, size: int) -> np.ndarray:
    from faceswap.extract.align import align
    from faceswap.extract.detect import Detector

    faces = Detector(device="cpu").detect([image])[0]
    crop, _ = align(image, faces.landmarks[0], size, 0.75)
    return crop


def test_dfm_loads_as_deepfacelive_loads_it_and_paints_b(exported, needs_identity):
    import onnxruntime as ort

    from faceswap.demo import public_domain_faces
    from faceswap.identity import FaceEmbedder

    sess = ort.InferenceSession(str(exported["dfm"]), providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    assert "in_face" in inputs[0].name and inputs[0].name == "in_face:0"
    assert inputs[1].name == "morph_value:0" and inputs[1].shape == [1]
    h, w, c = inputs[0].shape[1:4]
    assert (h, w, c) == (256, 256, 3)
    faces = public_domain_faces(384)
    collins = _aligned(faces["a"], h)
    img = collins[None, :, :, ::-1].astype(np.float32) / 255  # BGR in 0..1, as DeepFaceLive feeds it
    in_mask, celeb, celeb_mask = sess.run(None, {"in_face:0": img, "morph_value:0": np.float32([1.0])})
    assert in_mask.shape == (1, h, w, 1) and celeb.shape == (1, h, w, 3) and celeb_mask.shape == (1, h, w, 1)
    assert 0 <= celeb.min() and celeb.max() <= 1 and 0 <= celeb_mask.min() and celeb_mask.max() <= 1
    swapped = np.ascontiguousarray((celeb[0, :, :, ::-1] * 255).round().astype(np.uint8))
    emb = FaceEmbedder()
    hopper = emb.embed_crops([_aligned(faces["b"], h)], 0.75)[0]
    collins_e = emb.embed_crops([collins], 0.75)[0]
    out = emb.embed_crops([swapped], 0.75)[0]
    to_b, to_a = np.linalg.norm(out - hopper), np.linalg.norm(out - collins_e)
    assert to_b < to_a and to_b < 0.6, (to_b, to_a)
    # morph 0: the model's own drawing of the input person, not B
    _, own, _ = sess.run(None, {"in_face:0": img, "morph_value:0": np.float32([0.0])})
    own = emb.embed_crops([np.ascontiguousarray((own[0, :, :, ::-1] * 255).round().astype(np.uint8))], 0.75)[0]
    assert np.linalg.norm(own - collins_e) < np.linalg.norm(own - hopper)


def test_export_bad_input_is_one_line(tmp_path, capsys, exported):
    (tmp_path / "notamodel").mkdir()
    assert main(["export", str(tmp_path / "notamodel"), "-o", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notamodel" in err and "Traceback" not in err
    assert main(["export", str(DEMO), "-o", str(tmp_path / "x.txt")]) == 1
    assert "format" in capsys.readouterr().err
    bad = tmp_path / "damaged.onnx"
    bad.write_bytes(exported["onnx"].read_bytes()[:5000])
    from faceswap.convert.export import load_session
    from faceswap.errors import FaceswapError

    with pytest.raises(FaceswapError, match="damaged.onnx"):
        load_session(bad)
    # an existing export is replaced only with --force, and only one faceswap wrote
    assert main(["export", str(DEMO), "-o", str(exported["onnx"])]) == 1
    assert "--force" in capsys.readouterr().err
    (tmp_path / "theirs.onnx").write_bytes(b"someone else's model")
    assert main(["export", str(DEMO), "-o", str(tmp_path / "theirs.onnx"), "--force"]) == 1
    assert (tmp_path / "theirs.onnx").read_bytes() == b"someone else's model"


def test_convert_runs_the_model_through_onnx_runtime_with_the_same_faces():
    from faceswap.convert.faces import FaceRenderer
    from faceswap.train import load_swap_model

    model, _ = load_swap_model(DEMO)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (128, 128, 3), dtype=np.uint8) for _ in range(3)]
    for detail in (True, False):
        fast = FaceRenderer(model, DEMO, "b", 0.75, torch.device("cpu"), detail=detail, backend="onnx")
        ref = FaceRenderer(model, DEMO, "b", 0.75, torch.device("cpu"), detail=detail, backend="torch")
        assert fast.backend == "onnx" and ref.backend == "torch"
        for (f, m), (g, n) in zip(fast.swap(crops), ref.swap(crops)):
            assert f.shape == g.shape == (fast.paste_size, fast.paste_size, 3)
            assert np.abs(f.astype(int) - g.astype(int)).max() <= 2
            assert np.abs(m - n).max() < 1e-3


def test_auto_backend_times_each_and_bf16_draws_the_same_faces():
    """auto times every backend this machine has on one face and keeps the fastest;
    bf16 (where the CPU has native bf16 convolutions) draws faces within a grey
    level or so of fp32 torch, and its masks within a few per cent at the steepest edge."""
    from faceswap.convert.faces import FaceRenderer, cpu_bf16_supported
    from faceswap.train import load_swap_model

    model, _ = load_swap_model(DEMO)
    auto = FaceRenderer(model, DEMO, "b", 0.75, torch.device("cpu"))
    expected = {"torch", "onnx"} | ({"bf16"} if cpu_bf16_supported() else set())
    assert set(auto.timings) == expected
    assert auto.backend == min(auto.timings, key=auto.timings.get)
    if not cpu_bf16_supported():
        with pytest.raises(FaceswapError, match="bfloat16"):
            FaceRenderer(model, DEMO, "b", 0.75, torch.device("cpu"), backend="bf16")
        return
    import cv2
    from skimage import data

    photo = data.astronaut()  # a natural picture (Eileen Collins' portrait), not noise
    crops = [cv2.resize(photo[40:240, 130:330], (128, 128), interpolation=cv2.INTER_AREA), cv2.resize(photo, (128, 128))]
    half = FaceRenderer(model, DEMO, "b", 0.75, torch.device("cpu"), backend="bf16")
    ref = FaceRenderer(model, DEMO, "b", 0.75, torch.device("cpu"), backend="torch")
    for (f, m), (g, n) in zip(half.swap(crops), ref.swap(crops)):
        d = np.abs(f.astype(int) - g.astype(int))
        assert d.mean() < 1.0 and np.percentile(d, 99.9) <= 4, (d.mean(), d.max())
        assert np.abs(m - n).mean() < 0.005 and np.abs(m - n).max() < 0.05
