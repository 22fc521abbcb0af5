"""The root guard: the page reads and writes only under --root."""

from __future__ import annotations

import os

import pytest

from faceswap.errors import FaceswapError
from faceswap.ui.paths import Root


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "root"
    (base / "clips").mkdir(parents=True)
    (base / "clips" / "a.mp4").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("outside")
    return Root(base)


def test_relative_and_absolute_paths_inside_are_allowed(root):
    assert root.resolve("clips/a.mp4") == root.main / "clips" / "a.mp4"
    assert root.resolve(str(root.main / "clips" / "a.mp4")) == root.main / "clips" / "a.mp4"
    assert root.resolve("new/output.mp4") == root.main / "new" / "output.mp4"  # may not exist yet
    assert root.relative(root.main / "clips" / "a.mp4") == "clips/a.mp4"


@pytest.mark.parametrize("text", ["../secret.txt", "clips/../../secret.txt", "clips/../a.mp4", ".."])
def test_dotdot_is_refused(root, text):
    with pytest.raises(FaceswapError, match=r"'\.\.' is not allowed"):
        root.resolve(text)


def test_absolute_path_outside_is_refused(root, tmp_path):
    with pytest.raises(FaceswapError, match="outside the folders"):
        root.resolve(str(tmp_path / "secret.txt"))
    with pytest.raises(FaceswapError, match="outside the folders"):
        root.resolve("/etc/passwd")


def test_symlink_escaping_the_root_is_refused(root, tmp_path):
    os.symlink(tmp_path / "secret.txt", root.main / "link.txt")
    os.symlink(tmp_path, root.main / "linkdir")
    with pytest.raises(FaceswapError, match="outside the folders"):
        root.resolve("link.txt")
    with pytest.raises(FaceswapError, match="outside the folders"):
        root.resolve("linkdir/secret.txt")
    os.symlink(root.main / "clips", root.main / "inside")
    assert root.resolve("inside/a.mp4") == root.main / "clips" / "a.mp4"


def test_empty_missing_and_bad_root(root, tmp_path):
    with pytest.raises(FaceswapError, match="empty"):
        root.resolve("  ")
    with pytest.raises(FaceswapError, match="no such file"):
        root.resolve("clips/b.mp4", must_exist=True)
    with pytest.raises(FaceswapError, match="not a folder"):
        Root(tmp_path / "missing")


def test_listings(root):
    fs = root.main / "faces" / "a"
    fs.mkdir(parents=True)
    (fs / "alignments.json").write_text("{}")
    (root.main / "clips" / "b.partial.mp4").write_bytes(b"")
    assert root.videos() == ["clips/a.mp4"]
    assert root.facesets() == ["faces/a"]
