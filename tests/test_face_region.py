"""The face's real outline: labels from the mesh and GrabCut land on skin and leave
hair out, the face-region model has the right shapes, saves and loads, learns,
and the shipped one finds the face of people it never saw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap.face_region import RegionMasker, has_region_model, load_region_model, region_mask_targets
from faceswap.landmarks import Landmarks
from faceswap.models import load_model, save_model
from faceswap.models.occluder import Occluder
from faceswap.train.region import RegionBatches, region_labels, train_face_region


@pytest.fixture(scope="module")
def faces(faces_dir, tmp_path_factory):
    """Twelve 128 px aligned crops of d10 (never seen by the shipped model) and their labels."""
    from faceswap.extract import extract
    from faceswap.extract.faceset import load_faceset

    out = tmp_path_factory.mktemp("region") / "d10"
    extract(faces_dir / "d10.mp4", out, size=128, every=37, force=True, progress=False)
    images = np.ascontiguousarray(load_faceset(out, size=128)[0])
    return images, region_labels(images, 0.75)


def test_labels_hold_the_skin_and_leave_the_hair(faces):
    images, labels = faces
    assert labels.shape == images.shape[:3] and set(np.unique(labels)) <= {0, 1}
    pts = Landmarks().on_faces(images, 0.75)
    for label, p in zip(labels, pts):
        # eyes, nose tip, mouth and both cheeks are face
        for i in (33, 263, 1, 13, 14, 205, 425):
            x, y = np.clip(np.round(p[i]).astype(int), 0, 127)
            assert label[y, x] == 1, i
        # the crop's top rows (hair) and its corners (background, shoulders) are not
        assert label[:8].mean() < 0.05
        assert label[-10:, :10].sum() == 0 and label[-10:, -10:].sum() == 0
        assert 0.2 < label.mean() < 0.6
        # the outline follows the jaw: nothing below the chin point
        chin = int(np.ceil(p[152, 1]))
        assert label[min(chin + 6, 127):].sum() < 0.01 * label.sum()


def test_network_shapes_save_load_and_loss_falls(faces, tmp_path):
    images, labels = faces
    torch.manual_seed(0)
    data = RegionBatches(images, labels, 32)
    batch = data.batch(4, np.random.default_rng(0))
    assert batch["x"].shape == (4, 3, 32, 32) and batch["target"].shape == (4, 1, 32, 32)
    assert batch["x"].dtype == torch.float32 and set(torch.unique(batch["target"]).tolist()) <= {0.0, 1.0}
    result = train_face_region(images, labels, tmp_path / "work", resolution=32, channels=(8, 12, 16), steps=120,
                               batch_size=8, lr=3e-3, progress=False)
    first, last = result["loss"]
    assert last < 0.7 * first, result["loss"]
    net = load_model(tmp_path / "work").eval()
    assert isinstance(net, Occluder)
    x = torch.rand(2, 3, 32, 32)
    again = save_model(net, tmp_path / "copy", extra={"faceswap": {"kind": "face_region", "resolution": 32}})
    with torch.no_grad():
        assert torch.equal(net.logits(x), load_model(again).eval().logits(x))


def test_shipped_model_finds_unseen_faces(faces):
    if not has_region_model():
        pytest.fail("weights/face_region is missing: the repository ships it")
    images, labels = faces
    net, coverage = load_region_model()
    masker = RegionMasker(net, coverage, 128, 0.75, torch.device("cpu"), grow=0.0, feather=0.0)
    ious = []
    for region, label in zip(masker(list(images)), labels):
        pred, truth = region > 0.5, label > 0
        ious.append((pred & truth).sum() / (pred | truth).sum())
    assert np.mean(ious) > 0.85, ious
    # the training target: one mask per face, same side as the faces
    targets = region_mask_targets(torch.from_numpy(images[:3]), 0.75)
    assert targets.shape == (3, 1, 128, 128) and float(targets.max()) <= 1.0


def test_region_model_refuses_another_model(tmp_path):
    from faceswap.errors import FaceswapError

    save_model(Occluder({"resolution": 32, "channels": [8, 8]}), tmp_path / "occ",
               extra={"faceswap": {"kind": "occluder"}})
    with pytest.raises(FaceswapError, match="not a face-region model"):
        load_region_model(tmp_path / "occ")
    with pytest.raises(FaceswapError, match="face-region model not found"):
        load_region_model(tmp_path / "nothing")


def test_convert_paints_only_inside_the_face_region(faces_dir, clips, tmp_path):
    """An untrained 32 px model (its face differs from the input everywhere) converted
    with the landmark mask: with the face region it changes clearly fewer pixels (the
    egg's corners at the temples and the jaw, where A's skin ends), and none more
    outside A's mesh outline."""
    import cv2

    from faceswap.convert import convert
    from faceswap.extract.detect import Detector
    from faceswap.landmarks import face_oval_mask
    from faceswap.models.swap import SwapAutoEncoder
    from faceswap.video import FrameReader

    torch.manual_seed(0)
    cfg = dict(resolution=32, identities=["a", "b"], encoder_channels=[4, 8, 8, 8], kernel_size=3, latent_dim=8,
               bottleneck_channels=8, decoder_channels=[8, 8, 4], mask=False)
    model = save_model(SwapAutoEncoder(cfg), tmp_path / "model",
                       extra={"faceswap": {"preset": "test", "resolution": 32, "coverage": 0.75,
                                           "identities": ["a", "b"], "mask": False, "step": 0}})
    clip = clips.cut("d10.mp4", 6, tmp_path / "clip.mp4", rate=30)
    source = [f.image for f in FrameReader(clip)]
    found = Detector(device="cpu").detect(source)
    pts = Landmarks().on_frames(source, [f.landmarks[0] for f in found])
    outside = []
    for on in (True, False):
        out = tmp_path / f"out_{on}.mp4"
        convert(clip, model, out, mask="face", face_region=on, occlusion=False, force=True, progress=False)
        frames = [f.image for f in FrameReader(out)]
        n_out = n_all = 0
        for a, b, p in zip(source, frames, pts):
            changed = np.abs(a.astype(int) - b).max(-1) > 24
            oval = cv2.dilate(face_oval_mask(a.shape[:2], p).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
            n_out += int((changed & ~oval).sum())
            n_all += int(changed.sum())
        outside.append((n_out, n_all))
    (with_out, with_all), (without_out, without_all) = outside
    assert with_all < 0.92 * without_all, outside
    assert with_out <= without_out, outside
