"""Save and load models as a JSON config plus safetensors weights.

A model directory holds::

    config.json        {"version": 1, "type": <registered name>, "config": {...}, "extra": {...}}
    model.safetensors  the state dict (tensors only: loading it never runs code)

A model is rebuilt from its config (``cls.from_config(config)``), then its
weights are loaded. Nothing is pickled, so a model file from a stranger cannot
execute code when opened (unlike ``torch.save`` of a module; compare pythae
issue #118, where pickled custom encoders broke loading).

Every write goes to a temporary file in the destination folder and is renamed
over the destination with ``os.replace`` (atomic on POSIX and Windows), so a
run killed while saving leaves the previous file intact.

This module imports nothing from faceswap outside ``faceswap.models``; ``ModelError`` is a
``ValueError`` so that callers outside the project can catch it without us.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import safetensors.torch
import torch
from torch import nn

from faceswap.models.compact import is_packed, unpack

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1

_REGISTRY: dict[str, type] = {}


class ModelError(ValueError):
    """A model that cannot be built, saved or loaded; the message names the file or option."""


def register_model(cls: type | None = None, *, name: str | None = None):
    """Class decorator: make ``cls`` loadable by name from ``config.json``.

    Use as ``@register_model`` or ``@register_model(name="dense_ae")``; the
    default name is the class name. The class needs a JSON-able ``.config``
    (its constructor arguments) and optionally a ``from_config`` classmethod
    (default: ``cls(**config)``).
    """

    def add(c: type) -> type:
        key = name or c.__name__
        old = _REGISTRY.get(key)
        if old is not None and old is not c and old.__qualname__ != c.__qualname__:
            raise ModelError(f"model type {key!r} is already registered by {old.__module__}.{old.__qualname__}")
        _REGISTRY[key] = c
        c._registered_name = key
        return c

    return add(cls) if cls is not None else add


def registered_models() -> dict[str, type]:
    """A copy of the registry: name -> class."""
    return dict(_REGISTRY)


def registered_name(obj: Any) -> str:
    """The name ``obj``'s class was registered under; ModelError if none."""
    key = getattr(type(obj), "_registered_name", None)
    if key is None or _REGISTRY.get(key) is not type(obj):
        raise ModelError(
            f"{type(obj).__name__} is not a registered model class; decorate it with @register_model "
            "and give it a .config so that it can be rebuilt"
        )
    return key


def build_from_config(type_name: str, config: dict, where: str = "config") -> Any:
    """Instantiate a registered class from its config; ModelError on any problem."""
    cls = _REGISTRY.get(type_name)
    if cls is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ModelError(
            f"{where}: unknown model type {type_name!r} (registered: {known}); "
            "import the module that defines it before loading"
        )
    if not isinstance(config, dict):
        raise ModelError(f"{where}: 'config' must be an object, got {type(config).__name__}")
    try:
        factory: Callable[..., Any] = getattr(cls, "from_config", None) or (lambda c: cls(**c))
        return factory(config)
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None
    except (TypeError, ValueError, KeyError) as e:
        raise ModelError(f"{where}: cannot build {type_name} from its config: {e}") from None


def to_spec(obj: Any) -> dict:
    """``{"type": name, "config": obj.config}`` for a registered object (e.g. a likelihood)."""
    return {"type": registered_name(obj), "config": obj.config}


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception (or a kill) the destination is untouched and the temporary
    file is removed (best effort).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp (and safetensors, which rewrites the file) make 0600: outputs are
        # ordinary files, readable as the user's umask allows, like any tool's
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp_path, 0o666 & ~mask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _state_for_safetensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """CPU, contiguous tensors; tensors sharing storage (tied weights) are cloned
    because safetensors refuses aliased tensors. Loading copies into both."""
    out: dict[str, torch.Tensor] = {}
    seen: set[tuple[int, int]] = set()
    for key, value in module.state_dict().items():
        t = value.detach().cpu().contiguous()
        ident = (t.untyped_storage().data_ptr(), t.storage_offset()) if t.numel() else (id(t), 0)
        if ident in seen:
            t = t.clone()
        seen.add(ident)
        out[key] = t
    return out


def save_model(model: nn.Module, directory: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` atomically.

    ``extra`` is stored untouched under ``"extra"`` (application metadata such
    as the training step or face-swap preset); it must be JSON-able. Returns
    the directory. Other files in the directory are left alone.
    """
    directory = Path(directory)
    doc = {"version": FORMAT_VERSION, "type": registered_name(model), "config": model.config, "extra": extra or {}}
    try:
        text = json.dumps(doc, indent=1) + "\n"
    except (TypeError, ValueError) as e:
        raise ModelError(
            f"{directory / CONFIG_FILE}: config or extra is not JSON-able ({e}); config: {doc['config']!r}"
        ) from None
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_write(directory / WEIGHTS_FILE) as tmp:
        safetensors.torch.save_file(_state_for_safetensors(model), str(tmp), metadata={"format": "pt"})
    with atomic_write(directory / CONFIG_FILE) as tmp:
        tmp.write_text(text)
    return directory


def read_model_config(directory: str | os.PathLike) -> dict:
    """Parse and check ``config.json``: the whole document (version, type, config, extra)."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{path}: not found; {Path(directory)} is not a model directory (it has no config.json)")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{path}: expected a JSON object")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelError(f"{path}: no integer 'version' field")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format version {version} is newer than this library supports ({FORMAT_VERSION}); "
            "upgrade faceswap"
        )
    if not isinstance(doc.get("type"), str):
        raise ModelError(f"{path}: no 'type' field naming the model class")
    doc.setdefault("config", {})
    doc.setdefault("extra", {})
    return doc


def load_weights(model: nn.Module, directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> None:
    """Load ``model.safetensors`` from ``directory`` into ``model`` (strict). Weights
    stored compactly (``faceswap.models.compact``) are expanded to floats first."""

    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{path}: weights file not found")
    try:
        state = safetensors.torch.load_file(str(path), device=str(torch.device(map_location)))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise ModelError(f"{path}: cannot read weights ({type(e).__name__}: {e}); the file is corrupt") from None
    try:
        if is_packed(state):
            state = unpack(state)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[0:3]
        raise ModelError(f"{path}: weights do not match the model config ({' '.join(first)})") from None


def load_model(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model from ``config.json`` and load its weights; returned in eval mode on ``map_location``."""
    doc = read_model_config(directory)
    model = build_from_config(doc["type"], doc["config"], where=str(Path(directory) / CONFIG_FILE))
    model.to(map_location)
    load_weights(model, directory, map_location)
    return model.eval()
