"""What the tabs share: the one `Context` object that owns the page's state
(the root guard, the job runner, the convert preview), and small helpers."""

from __future__ import annotations

import functools
import html
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from faceswap.errors import FaceswapError
from faceswap.ui.jobs import Job, Jobs
from faceswap.ui.paths import Root

log = logging.getLogger("faceswap.ui")


@dataclass
class Context:
    """Everything a tab may touch. One instance per server; the preview cache
    is guarded by its own lock because several browser tabs may share it."""

    root: Root
    jobs: Jobs
    device: str | None = None
    _preview: tuple | None = None
    _preview_lock: threading.Lock = field(default_factory=threading.Lock)

    def preview(self, video: Path, model: Path, to: str | None, alignments: Path | None):
        """The FramePreview for these inputs, rebuilt only when they change."""
        from faceswap.convert.preview import FramePreview

        key = (video, model, to, alignments,
               *(p.stat().st_mtime if p is not None and p.exists() else None for p in (video, model / "model.safetensors")))
        if self._preview is None or self._preview[0] != key:
            self._preview = (key, FramePreview(video, model, to=to, alignments=alignments, device=self.device))
        return self._preview[1]

    @property
    def preview_lock(self) -> threading.Lock:
        return self._preview_lock


def one_line(fn):
    """Run a page handler; a user's mistake shows as the CLI's one-line message
    in the page (gr.Error), anything else as one line too, with the traceback
    only in the server's log."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import gradio as gr

        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except FaceswapError as e:
            raise gr.Error(str(e).replace("\n", " "), print_exception=False) from None
        except Exception as e:  # noqa: BLE001
            log.exception("page handler %s failed", fn.__name__)
            raise gr.Error(f"{type(e).__name__}: {e}".replace("\n", " "), print_exception=False) from None

    return wrapper


def status_html(job: Job | None, idle: str = "No job yet.") -> str:
    """A progress bar and the job's one-line status."""
    if job is None:
        return f"<div class='fs-status'>{html.escape(idle)}</div>"
    bar = ""
    if job.running:
        if job.total:
            bar = f"<progress value='{job.done}' max='{job.total}' style='width:100%'></progress>"
        else:
            bar = "<progress style='width:100%'></progress>"
    return (f"<div class='fs-status' data-state='{job.state}'>{bar}"
            f"<span>{html.escape(job.status())}</span></div>")


def number(value, default: int | None = None) -> int | None:
    """A gr.Number's value as an int; 0 or empty means `default`."""
    try:
        v = int(value or 0)
    except (TypeError, ValueError):
        raise FaceswapError(f"{value!r}: not a whole number") from None
    return v if v else default
