"""The shipped models by name: `demo`, `prior` (64 px), `prior128`, `occluder`, `face_region`, `face_mesh`.

The repository's `weights/` folder is their one copy. A built package (`pip
install .`, a wheel, a git URL) carries it as `faceswap/_weights/`
(pyproject.toml maps the one onto the other); a source checkout or an editable
install reads `weights/` beside the package. Either way a name resolves to a
model directory, from whatever folder the command runs in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from faceswap.errors import FaceswapError

_PACKAGE = Path(__file__).resolve().parent


def _root() -> Path:
    """The folder that holds the shipped models: the built package's copy first
    (it exists only in an installed wheel), then the source tree's."""
    packaged = _PACKAGE / "_weights"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "weights"


ROOT = _root()


def names(kind: str | None = "SwapAutoEncoder") -> list[str]:
    """The shipped model names of `kind` (the config's "type"; None: every kind),
    e.g. ['demo', 'prior', 'prior128'] for swap models (empty when this install
    carries no weights). The occlusion, face-region and landmark models are shipped too, but no swap model
    can start from them, so the swap options do not offer them."""
    if not ROOT.is_dir():
        return []
    found = []
    for p in sorted(ROOT.iterdir()):
        try:
            doc = json.loads((p / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if kind is None or (isinstance(doc, dict) and doc.get("type") == kind):
            found.append(p.name)
    return found


def shipped(name: str) -> Path:
    """The model directory of the shipped model `name`; a one-line FaceswapError
    listing the shipped names for any other."""
    path = ROOT / name
    if name in names():
        return path
    have = ", ".join(names()) or "none: this install has no weights folder"
    raise FaceswapError(f"{name}: not a shipped model (shipped: {have})")


def model_path(value: str | os.PathLike, option: str = "--init") -> Path:
    """A model directory given as a path or as a shipped name: a path that exists
    is taken as it is; a bare name that is not a path here is a shipped model.
    Anything else is a one-line FaceswapError naming `option` and the choices."""
    path = Path(value)
    if path.exists():
        return path
    text = str(value)
    if os.sep not in text and "/" not in text and text in names():
        return ROOT / text
    if path.name in names():  # e.g. weights/prior128 typed outside the repository
        raise FaceswapError(f"{option} {text}: no such folder; the shipped model is named {option} {path.name}")
    have = ", ".join(names()) or "none in this install"
    raise FaceswapError(f"{option} {text}: no such folder, and no shipped model of that name (shipped: {have})")
