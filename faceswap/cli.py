"""The `faceswap` command line: a thin typer shell over the library.

Each command parses and validates its options and calls ONE public function
of the same name (faceswap.extract.extract, faceswap.train.train, ...).
A FaceswapError is printed as one line on stderr with exit code 1; `--debug`
shows the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from faceswap import __version__
from faceswap.errors import FaceswapError

app = typer.Typer(
    name="faceswap",
    help="Swap faces in videos: extract faces, train a model, convert a video. "
    "Swap only faces of people who agreed to it; outputs are labelled as synthetic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"faceswap {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    _state["debug"] = debug


# ---- extract (issue 3) ------------------------------------------------------
# ---- end extract -------------------------------------------------------------

# ---- train (issue 4) ---------------------------------------------------------
# ---- end train ---------------------------------------------------------------

# ---- convert (issue 5) -------------------------------------------------------
@app.command()
def convert(
    input: Path = typer.Argument(..., help="A video, an image, or a folder of images."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", help="Model directory made by `faceswap train`."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .mp4 (video), .png (image) or folder (folder of images)."),
    to: Optional[str] = typer.Option(None, "--to", help="Identity (or faceset name) whose face is painted (default: the other one)."),
    alignments: Optional[Path] = typer.Option(None, "--alignments", "-a", help="alignments.json of this video (from extract): skip detection."),
    mask: str = typer.Option("auto", "--mask", help="auto | learned | face | ellipse | box."),
    mask_erode: float = typer.Option(0.0, "--mask-erode", help="Shrink the mask by this % of the face crop (negative grows it)."),
    mask_blur: float = typer.Option(5.0, "--mask-blur", help="Feather the mask edge over this % of the face crop."),
    color: str = typer.Option("reinhard", "--color", help="none | mean | reinhard | hist."),
    blend: str = typer.Option("alpha", "--blend", help="alpha | poisson."),
    smooth: bool = typer.Option(True, "--smooth/--no-smooth", help="Smooth the face alignment over time (video)."),
    watermark: Optional[str] = typer.Option(None, "--watermark", help="Draw this visible label on every frame."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: GPU when present)."),
    batch_size: int = typer.Option(16, "--batch-size", "-b", min=1, help="Faces per model call."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Swap the faces of a video or images; the output is labelled as synthetic media."""
    from faceswap.convert import convert as run_convert

    summary = run_convert(
        input, model_dir, output, to=to, alignments=alignments, mask=mask, mask_erode=mask_erode,
        mask_blur=mask_blur, color=color, blend=blend, smooth=smooth, watermark=watermark, device=device,
        batch_size=batch_size, force=force, progress=progress,
    )
    typer.echo(str(summary))


# ---- end convert -------------------------------------------------------------

# ---- demo and evaluate (issue 7) --------------------------------------------
# ---- end demo and evaluate ---------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the console script: run the app, turn user errors into
    one line and a non-zero exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, prog_name="faceswap", standalone_mode=False)
    except FaceswapError as e:
        if debug:
            raise
        typer.echo(f"faceswap: error: {e}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("faceswap: interrupted", err=True)
        return 130
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.echo("faceswap: aborted", err=True)
        return 1
    except Exception as e:  # usage errors from typer's click layer
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            return e.exit_code
        raise
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
