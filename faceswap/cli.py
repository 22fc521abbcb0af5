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


def _at_least(**options: tuple) -> None:
    """One-line FaceswapError for a numeric option out of range: name=(value, lowest)."""
    for name, (value, low) in options.items():
        if value is not None and value < low:
            raise FaceswapError(f"--{name.replace('_', '-')} {value}: must be at least {low}")


def _check_threads(value: str) -> None:
    if value != "auto" and not (value.isdigit() and int(value) >= 1):
        raise FaceswapError(f"--threads {value}: use a whole number of threads (1 or more) or auto")


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


# ---- extract ---------------------------------------------------------------
@app.command()
def extract(
    input: Path = typer.Argument(..., help="A video, an image, or a folder of images."),
    output: Path = typer.Option(..., "--output", "-o", help="Faceset folder: aligned PNGs + alignments.json."),
    size: int = typer.Option(256, "--size", "-s", help="Side of the aligned face crops in pixels."),
    coverage: float = typer.Option(0.75, "--coverage", help="Fraction of the crop the face takes; smaller shows more around it."),
    every: int = typer.Option(1, "--every", help="Examine every Nth frame only."),
    max_faces: int = typer.Option(1, "--max-faces", help="Faces kept per frame, largest first (0: all)."),
    min_size: int = typer.Option(40, "--min-size", help="Smallest face to keep, in pixels."),
    threshold: float = typer.Option(0.9, "--threshold", help="Detector score a face needs (0-1)."),
    blur: Optional[float] = typer.Option(None, "--blur", help="Drop crops whose variance of the Laplacian is below this (e.g. 50)."),
    detect_size: int = typer.Option(640, "--detect-size", help="Longest side frames shrink to for full detection (0: full size)."),
    redetect_every: int = typer.Option(25, "--redetect-every", help="Full detection at least every N examined frames (1: no tracking)."),
    smooth: bool = typer.Option(False, "--smooth/--no-smooth", help="Smooth landmarks over time."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: GPU when present)."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Frames read and detected per batch."),
    like: Optional[list[Path]] = typer.Option(None, "--like", help="Photo of the person to keep (repeat for more photos of them); others are ignored. Needs the identity extra."),
    like_threshold: float = typer.Option(0.6, "--like-threshold", help="Largest identity distance to the --like photos that counts as that person."),
    rotate: str = typer.Option("auto", "--rotate", help="auto: also find faces turned 90/180/270 degrees; off: upright only."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing output folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar and summary."),
) -> None:
    """Detect, align and crop faces into a faceset (re-running resumes an unfinished one).

    With several people in the video, the --max-faces largest faces of each
    frame are kept, whoever they are (a warning says so); --like PHOTO keeps
    only that person's faces."""
    from faceswap.extract import extract as run_extract

    _at_least(size=(size, 16), every=(every, 1), max_faces=(max_faces, 0), min_size=(min_size, 0),
              detect_size=(detect_size, 0), redetect_every=(redetect_every, 1), batch_size=(batch_size, 1),
              blur=(blur, 0))
    run_extract(
        input, output, size=size, coverage=coverage, every=every, max_faces=max_faces, min_size=min_size,
        threshold=threshold, blur=blur, detect_size=detect_size, redetect_every=redetect_every, smooth=smooth,
        device=device, batch_size=batch_size, like=like, like_threshold=like_threshold, rotate=_rotate(rotate),
        force=force, progress=progress,
    )


def _rotate(value: str) -> bool:
    if value not in ("auto", "off"):
        raise FaceswapError(f"--rotate {value}: use auto or off")
    return value == "auto"


@app.command("sort")
def sort_faces(
    faceset: Path = typer.Argument(..., help="A faceset folder (from `faceswap extract`)."),
    by: str = typer.Option("identity", "--by", help="identity (most like the majority first) | blur (sharpest first) | yaw (turned left to right) | size (largest first)."),
    rename: bool = typer.Option(False, "--rename", help="Prefix each file with its rank (alignments.json follows); default: list only."),
) -> None:
    """List (or rename) the faces of a faceset in the order of one measure."""
    from faceswap.extract.curate import sort_faceset

    for name, value in sort_faceset(faceset, by=by, rename=rename):
        typer.echo(f"{name}\t{value:.4f}")


@app.command()
def clean(
    faceset: Path = typer.Argument(..., help="A faceset folder (from `faceswap extract`)."),
    undo: bool = typer.Option(False, "--undo", help="Move every rejected face back and restore its alignments entry."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would move."),
    identity: bool = typer.Option(True, "--identity/--no-identity", help="Move faces of another person than the majority (needs the identity extra)."),
    threshold: float = typer.Option(0.6, "--threshold", help="Identity distance to the majority over which a face is another person."),
) -> None:
    """Move outliers (another person, blurry, badly aligned, mostly covered, duplicates) into
    FACESET/rejected/ and print what moved and why; `--undo` moves them back.
    `train` never reads rejected/."""
    from faceswap.extract.curate import clean_faceset, undo_clean

    if undo:
        typer.echo(f"clean: {undo_clean(faceset)} faces moved back into {faceset}")
        return
    typer.echo(clean_faceset(faceset, identity=identity, threshold=threshold, dry_run=dry_run).table())


# ---- end extract -------------------------------------------------------------

# ---- train ---------------------------------------------------------------
@app.command()
def train(
    faces_a: Path = typer.Argument(..., help="Faceset of identity A (from `faceswap extract`, or a folder of aligned faces)."),
    faces_b: Path = typer.Argument(..., help="Faceset of identity B."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", help="Model directory; an existing one is resumed."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-i", help="Train until this total step count."),
    time: Optional[str] = typer.Option(None, "--time", "-t", help="Wall-clock budget, e.g. 90s, 20m, 1.5h."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Faces per identity per step (default: the preset's)."),
    preset: str = typer.Option("lightweight", "--preset", "-p", help="lightweight | original | hires."),
    resolution: Optional[int] = typer.Option(None, "--resolution", "-r", help="Face size in pixels (default: the preset's)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: GPU when present)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (batches are a function of seed and step)."),
    loss: str = typer.Option("l1+dssim", "--loss", help="l1+dssim | mse+dssim | l1 | mse."),
    mask: bool = typer.Option(False, "--mask", help="Decoders also learn a face mask for convert to blend with."),
    adversarial: float = typer.Option(0.0, "--adversarial", help="Weight of a GAN term (needs faceswap.models.gan)."),
    save_every: int = typer.Option(500, "--save-every", help="Checkpoint every N steps (also on Ctrl-C and at the end)."),
    preview_every: int = typer.Option(100, "--preview-every", help="Write preview.png every N steps."),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the model (GPU)."),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", help="Log losses to this TensorBoard folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
    threads: str = typer.Option("auto", "--threads", help="CPU threads for torch, or auto: time a step with 1 thread and with all cores, keep the faster."),
    init: Optional[Path] = typer.Option(None, "--init", help="Start a new model from this prior (`faceswap pretrain`, same preset and mask; the resolution defaults to the prior's), e.g. weights/prior128."),
    warp: bool = typer.Option(True, "--warp/--no-warp", help="Randomly warp the input faces (start with it); resuming with --no-warp sharpens eyes and lips."),
    occlusion: Optional[bool] = typer.Option(None, "--occlusion/--no-occlusion", help="With --mask, leave what covers each face (the occlusion model's cover: hands, microphones, glasses) out of the mask the decoders learn (default: on when weights/occluder is installed)."),
) -> None:
    """Train a swap model: one shared encoder, one decoder per identity. An existing
    model directory is resumed; Ctrl-C saves. Multi-GPU: torchrun --standalone
    --nproc_per_node N -m faceswap.cli train A B -m MODEL."""
    from faceswap.train import train as run_train

    _at_least(iterations=(iterations, 0), batch_size=(batch_size, 1), resolution=(resolution, 16),
              adversarial=(adversarial, 0), save_every=(save_every, 0), preview_every=(preview_every, 0))
    _check_threads(threads)
    if resolution is not None and resolution % 16:
        raise FaceswapError(f"--resolution {resolution}: must be a multiple of 16 (e.g. 64, 128)")
    from faceswap.train.pipeline import parse_duration

    summary = run_train(
        faces_a, faces_b, model_dir, iterations=iterations, time=parse_duration(time), batch_size=batch_size,
        preset=preset, resolution=resolution, device=device, seed=seed, loss=loss, mask=mask,
        adversarial=adversarial, save_every=save_every, preview_every=preview_every, compile=compile,
        tensorboard=tensorboard, progress=progress, threads=threads, init=init, warp=warp, occlusion=occlusion,
    )
    typer.echo(summary.describe())


@app.command()
def pretrain(
    facesets: list[Path] = typer.Argument(..., help="Facesets of many people (two or more), none of whom you will swap."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", help="Where to write the prior; an existing one is resumed."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-i", help="Train until this total step count."),
    time: Optional[str] = typer.Option(None, "--time", "-t", help="Wall-clock budget, e.g. 90s, 20m, 1.5h."),
    preset: str = typer.Option("lightweight", "--preset", "-p", help="lightweight | original | hires: the preset the prior is for."),
    resolution: Optional[int] = typer.Option(None, "--resolution", "-r", help="Face size in pixels (default: the preset's)."),
    mask: bool = typer.Option(False, "--mask", help="Also learn a face mask (for models trained with --mask)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", min=1, help="Faces per decoder per step (default: the preset's)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: GPU when present)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    threads: str = typer.Option("auto", "--threads", help="CPU threads for torch, or auto."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Train a face prior on many people; start swap models from it with `faceswap train A B -m MODEL --init PRIOR` (same preset, resolution and mask)."""
    from faceswap.train.pipeline import parse_duration
    from faceswap.train.pretrain import pretrain as run_pretrain

    _check_threads(threads)
    _at_least(iterations=(iterations, 0), resolution=(resolution, 16))
    summary = run_pretrain(facesets, model_dir, iterations=iterations, time=parse_duration(time), preset=preset,
                           resolution=resolution, mask=mask, batch_size=batch_size, device=device, seed=seed,
                           threads=threads, progress=progress)
    typer.echo(summary.describe())


@app.command()
def refine(
    model_dir: Path = typer.Argument(..., help="A model directory made by `faceswap train`."),
    identity: Optional[str] = typer.Option(None, "--identity", help="Whose detail to learn (default: the model's second, B)."),
    faces: Optional[Path] = typer.Option(None, "--faces", help="That identity's faceset (default: the one the model was trained on)."),
    scale: Optional[int] = typer.Option(None, "--scale", help="Upscaling factor, 2 or 4; default the larger the faceset's crops allow (64 -> 256 px, 128 -> 256 px)."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-i", min=1, help="Train until this total step count (default 2000 without --time)."),
    time: Optional[str] = typer.Option(None, "--time", "-t", help="Wall-clock budget, e.g. 8m."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: GPU when present)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for torch (1 is often fastest on a busy machine)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Train a detail upsampler for one identity of a model: it turns the model's 64 px face into a 256 px one with that person's own detail (convert uses it automatically). Resumable: run again to continue."""
    from faceswap.train.pipeline import parse_duration
    from faceswap.train.refine import refine as run_refine

    if scale not in (None, 2, 4):
        raise FaceswapError(f"--scale {scale}: must be 2 or 4")
    out = run_refine(model_dir, identity=identity, faces=faces, scale=scale, steps=iterations,
                     time=parse_duration(time), device=device, threads=threads, progress=progress)
    typer.echo(f"saved {out['dir']} at step {out['step']} ({out['seconds']:.0f} s); "
               + ", ".join(f"{k} {v:.4f}" for k, v in out["loss"].items()))


# ---- end train ---------------------------------------------------------------

# ---- convert ---------------------------------------------------------------
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
    occlusion: Optional[bool] = typer.Option(None, "--occlusion/--no-occlusion", help="Keep the original pixels where the occlusion model (weights/occluder) finds the face covered: hands, microphones, glasses (default: on when it is installed)."),
    color: str = typer.Option("reinhard", "--color", help="none | mean | reinhard | hist."),
    blend: str = typer.Option("alpha", "--blend", help="alpha | poisson."),
    sharpen: str = typer.Option("auto", "--sharpen", help="Sharpen the swapped face, 0 (off) to 4, halo-free (no pixel passes its neighbours' range); auto: 1 for faces drawn by a detail upsampler, else 0."),
    smooth: bool = typer.Option(True, "--smooth/--no-smooth", help="Smooth the face alignment over time (video)."),
    hold_frames: int = typer.Option(30, "--hold-frames", help="Keep a face that cover hides from the detector for at most this many frames (video; 0: never)."),
    detail: bool = typer.Option(True, "--detail/--no-detail", help="Upscale faces with the model's detail upsampler (from `faceswap refine`) when it has one."),
    watermark: Optional[str] = typer.Option(None, "--watermark", help="Draw this visible label on every frame."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: GPU when present)."),
    batch_size: int = typer.Option(16, "--batch-size", "-b", min=1, help="Faces per model call."),
    like: Optional[list[Path]] = typer.Option(None, "--like", help="Photo of the person to swap (repeat for more photos of them); everyone else is left untouched. Needs the identity extra."),
    like_threshold: float = typer.Option(0.6, "--like-threshold", help="Largest identity distance to the --like photos that counts as that person."),
    rotate: str = typer.Option("auto", "--rotate", help="auto: also find faces turned 90/180/270 degrees; off: upright only."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Swap the faces of a video or images; the output is labelled as synthetic media.

    Without --like, EVERY face found in a frame is swapped (a warning says
    when a frame holds several); --like PHOTO swaps only that person."""
    from faceswap.convert import convert as run_convert
    from faceswap.convert.sharpen import parse_sharpen

    _at_least(mask_blur=(mask_blur, 0), batch_size=(batch_size, 1), hold_frames=(hold_frames, 0))

    summary = run_convert(
        input, model_dir, output, to=to, alignments=alignments, mask=mask, mask_erode=mask_erode,
        mask_blur=mask_blur, occlusion=occlusion, color=color, blend=blend, sharpen=parse_sharpen(sharpen), smooth=smooth, hold_frames=hold_frames,
        detail=detail,
        watermark=watermark, device=device, batch_size=batch_size, like=like, like_threshold=like_threshold,
        rotate=_rotate(rotate), force=force, progress=progress,
    )
    typer.echo(str(summary))


# ---- end convert -------------------------------------------------------------

# ---- demo and evaluate ---------------------------------------------------------------
@app.command()
def demo(
    output: Path = typer.Option(Path("demo-output"), "--output", "-o", help="Folder for the clips, facesets, swapped video and picture."),
    train: bool = typer.Option(False, "--train", help="Retrain the demo model from scratch first (3000 iterations: about 13 minutes on a 2-core CPU)."),
    iterations: int = typer.Option(3000, "--iterations", min=1, help="Training iterations with --train."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: CUDA when present)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output folder."),
) -> None:
    """Swap Grace Hopper's face onto Eileen Collins in a short clip (public-domain faces)."""
    from faceswap.demo import demo as run_demo

    run_demo(output, train=train, iterations=iterations, device=device, force=force)


@app.command()
def evaluate(
    original: Path = typer.Argument(..., help="The source video."),
    swapped: Path = typer.Argument(..., help="The converted video made from it."),
    model: Path = typer.Option(..., "--model", "-m", help="The model directory used for the swap."),
    faces_a: Optional[Path] = typer.Option(None, "--faces-a", help="Faceset of identity A (default: the one the model was trained on)."),
    faces_b: Optional[Path] = typer.Option(None, "--faces-b", help="Faceset of identity B (default: the one the model was trained on)."),
    every: int = typer.Option(1, "--every", min=1, help="Compare every Nth frame."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: CUDA when present)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    to: Optional[str] = typer.Option(None, "--to", help="The identity painted in (default: the model's second)."),
    identity: bool = typer.Option(True, "--identity/--no-identity", help="Measure who the swapped face looks like (needs the identity extra)."),
) -> None:
    """Score a swap: identity (recognised as B?), sharpness, reconstruction SSIM/PSNR, pose kept (landmarks), flicker."""
    import json

    from faceswap.evaluate import evaluate as run_evaluate

    report = run_evaluate(original, swapped, model, faces_a=faces_a, faces_b=faces_b, every=every, device=device,
                          to=to, identity=identity)
    typer.echo(json.dumps(report.to_dict(), indent=1) if as_json else report.table())


# ---- end demo and evaluate ---------------------------------------------------

# ---- ui ----------------------------------------------------------------------
@app.command()
def ui(
    root: Path = typer.Option(Path("."), "--root", help="The only folder the page may read and write (default: here)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; a non-local one needs --auth."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    auth: Optional[str] = typer.Option(None, "--auth", help="USER:PASSWORD the page asks for."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:N for the jobs and previews (default: GPU when present)."),
) -> None:
    """Start the local web page: extract, train (live preview and losses), convert (live frame preview), evaluate, demo."""
    from faceswap.ui.server import serve

    serve(root, host=host, port=port, auth=auth, device=device)


# ---- end ui ------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the console script: run the app, turn user errors into
    one line and a non-zero exit code."""
    import warnings

    from faceswap.errors import os_error_line

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        with warnings.catch_warnings():
            if not debug:  # warnings meant for users: one plain line, no source line
                warnings.showwarning = lambda message, *a, **k: typer.echo(f"faceswap: warning: {message}", err=True)
            app(args=argv, prog_name="faceswap", standalone_mode=False)
    except FaceswapError as e:
        if debug:
            raise
        typer.echo(f"faceswap: error: {e}", err=True)
        return 1
    except OSError as e:  # permission denied, not a directory, disk full... on a user's path
        if debug:
            raise
        typer.echo(f"faceswap: error: {os_error_line(e)}", err=True)
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
        models = sys.modules.get("faceswap.models.serialization")  # loaded if it raised: no import here
        if models is not None and isinstance(e, models.ModelError) and not debug:  # a bad model option or file
            typer.echo(f"faceswap: error: {str(e).splitlines()[0]}", err=True)
            return 1
        if type(e).__module__.startswith("av") and not debug:  # FFmpeg's errors name the file
            typer.echo(f"faceswap: error: {e}", err=True)
            return 1
        raise
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
