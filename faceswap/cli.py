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
