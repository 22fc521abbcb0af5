import json

import pytest

from faceswap.errors import FaceswapError
from faceswap.fileio import atomic_path, check_version, prepare_output, read_json, write_json_atomic


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    target = tmp_path / "a.json"
    write_json_atomic(target, {"x": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_read_json_errors_name_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FaceswapError, match="bad.json"):
        read_json(bad)
    with pytest.raises(FaceswapError, match="missing.json"):
        read_json(tmp_path / "missing.json")


def test_newer_version_refused(tmp_path):
    with pytest.raises(FaceswapError, match="newer"):
        check_version(tmp_path / "f.json", 9, 1, "alignments")


def test_prepare_output_needs_force(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"x")
    with pytest.raises(FaceswapError, match="--force"):
        prepare_output(out, force=False)
    assert out.read_bytes() == b"x"
    folder = tmp_path / "faces"
    folder.mkdir()
    prepare_output(folder, force=False, is_dir=True)  # empty folder is fine
    (folder / ".faceswap-output").unlink()  # as if the user had made it
    (folder / "f.png").write_bytes(b"x")
    with pytest.raises(FaceswapError):
        prepare_output(folder, force=False, is_dir=True)
    with pytest.raises(FaceswapError, match="not written by faceswap"):
        prepare_output(folder, force=True, is_dir=True)
    (folder / "alignments.json").write_text("{}")  # a name faceswap uses proves nothing without the marker
    with pytest.raises(FaceswapError, match="not written by faceswap"):
        prepare_output(folder, force=True, is_dir=True)
    assert sorted(p.name for p in folder.iterdir()) == ["alignments.json", "f.png"]
