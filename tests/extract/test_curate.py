"""`faceswap sort` and `faceswap clean` on facesets cut from the real clips:
a faceset mixed 80/20 from two people loses exactly the minority, a clean one
keeps (almost) everything, undo restores it, and train never reads rejected/."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.extract import extract
from faceswap.extract.curate import clean_faceset, sort_faceset
from faceswap.extract.faceset import Alignments, face_file, load_faceset


@pytest.fixture(scope="module")
def facesets(faces_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("curate")
    extract(faces_dir / "d6.mp4", root / "d6", size=128, every=30, progress=False)     # 34 faces
    extract(faces_dir / "d10.mp4", root / "d10", size=128, every=50, progress=False)   # 9 faces
    extract(faces_dir / "d20.mp4", root / "d20", size=128, every=4, progress=False)    # 44 faces
    return root


def _mixed(root, tmp_path):
    """d6's faceset with 8 of d10's faces added (as frames 100000+): 34 / 8, about 80 / 20."""
    mixed = tmp_path / "mixed"
    shutil.copytree(root / "d6", mixed)
    al, other = Alignments.load(mixed), Alignments.load(root / "d10")
    added = []
    for k, (_, face) in enumerate(other.faces()[:8]):
        name = face_file(100000 + k, 0)
        shutil.copy(root / "d10" / face["file"], mixed / name)
        al.frames[100000 + k] = [dict(face, file=name)]
        added.append(name)
    al.save(mixed / "alignments.json")
    return mixed, set(added)


def test_clean_moves_the_other_person_and_undo_restores(facesets, tmp_path, needs_identity, capsys):
    from faceswap.train.data import load_faces

    mixed, minority = _mixed(facesets, tmp_path)
    before = json.loads((mixed / "alignments.json").read_text())
    n = len(load_faceset(mixed)[0])
    assert main(["clean", str(mixed)]) == 0
    out = capsys.readouterr().out
    moved = {p.name for p in (mixed / "rejected").glob("*.png")}
    precision, recall = len(moved & minority) / max(len(moved), 1), len(moved & minority) / len(minority)
    assert precision >= 0.95 and recall >= 0.95, (moved, out)
    assert "identity" in out and f"moved {len(moved)} of {n} faces" in out
    listed = {f["file"] for _, f in Alignments.load(mixed).faces()}
    assert not listed & moved and all((mixed / f).is_file() for f in listed)
    assert len(load_faces(mixed, 64)) == n - len(moved)  # train reads neither rejected/ nor its entries
    assert main(["clean", str(mixed), "--undo"]) == 0
    assert not (mixed / "rejected").exists()
    assert json.loads((mixed / "alignments.json").read_text())["frames"] == before["frames"]


def test_clean_faceset_keeps_almost_everything_and_sort_orders_and_renames(facesets, tmp_path, needs_identity):
    folder = tmp_path / "d20"
    shutil.copytree(facesets / "d20", folder)
    n = len(load_faceset(folder)[0])
    report = clean_faceset(folder)
    assert len(report.moved) < 0.03 * n, report.table()
    ranked = sort_faceset(folder, by="identity")
    assert len(ranked) == n - len(report.moved) and all(a[1] <= b[1] for a, b in zip(ranked, ranked[1:]))


def test_sort_by_size_blur_yaw_and_rename_keeps_alignments_consistent(facesets, tmp_path, capsys):
    folder = tmp_path / "d6"
    shutil.copytree(facesets / "d6", folder)
    images, _ = load_faceset(folder)
    for by, descending in (("size", True), ("blur", True), ("yaw", False)):
        values = [v for _, v in sort_faceset(folder, by=by)]
        assert len(values) == len(images) and values == sorted(values, reverse=descending)
    assert main(["sort", str(folder), "--by", "size", "--rename"]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert names[0].startswith("00000_") and names[-1].startswith(f"{len(names) - 1:05d}_")
    renamed, _ = load_faceset(folder)  # every alignments entry names an existing file
    assert len(renamed) == len(images)
    first = cv2.imread(str(folder / names[0]))
    assert first is not None
    sort_faceset(folder, by="blur", rename=True)  # a second rename replaces the rank, never stacks it
    assert all(len(p.name.split("_")) == 3 for p in folder.glob("*.png"))


def test_exact_duplicates_are_moved(facesets, tmp_path):
    folder = tmp_path / "dup"
    shutil.copytree(facesets / "d6", folder)
    al = Alignments.load(folder)
    k, face = al.faces()[3]
    shutil.copy(folder / face["file"], folder / face_file(200000, 0))
    al.frames[200000] = [dict(face, file=face_file(200000, 0))]
    al.save(folder / "alignments.json")
    report = clean_faceset(folder, identity=False)
    assert [(f, r) for f, r, _ in report.moved] == [(face_file(200000, 0), "duplicate")]


def test_sort_errors_are_one_line(tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    cv2.imwrite(str(plain / "a.png"), np.zeros((64, 64, 3), np.uint8))
    for args, code in ((["sort", str(plain), "--by", "yaw"], 1), (["sort", str(plain), "--by", "age"], 2),
                       (["clean", str(plain), "--undo"], 1), (["clean", str(tmp_path / "none")], 1)):
        assert main(args) == code  # 2: the command line itself is wrong (the choices are the parser's)
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("faceswap: error: "), err


def test_mostly_covered_faces_are_moved_as_occluded(facesets, tmp_path):
    """Three of d20's faces get the held-out card (faceswap.train.cover) over their mouth and
    nose: clean moves exactly those, for the reason "occluded" (when weights/occluder ships)."""
    from faceswap.occlusion import has_occluder
    from faceswap.train.cover import card_alpha, card_texture

    assert has_occluder(), "the shipped occlusion model is missing"
    folder = tmp_path / "covered"
    shutil.copytree(facesets / "d20", folder)
    covered = []
    for _, face in Alignments.load(folder).faces()[5:8]:
        image = cv2.imread(str(folder / face["file"]))[:, :, ::-1].astype(np.float32)
        s = image.shape[0]
        a = card_alpha((s, s), (s * 0.5, s * 0.64), (s * 0.56, s * 0.42), 10)[..., None]  # ~40 % of the face
        image = image * (1 - a) + card_texture((s, s)) * a
        cv2.imwrite(str(folder / face["file"]), np.clip(image, 0, 255).astype(np.uint8)[:, :, ::-1])
        covered.append(face["file"])
    report = clean_faceset(folder, identity=False, dry_run=True)
    print(f"\n{report.table()}")
    assert sorted(f for f, r, _ in report.moved if r == "occluded") == sorted(covered)
