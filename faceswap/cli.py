"""The `faceswap` command line: a thin typer shell over the library.

Each command parses and validates its options and calls ONE public function
of the same name (faceswap.extract.extract, faceswap.train.train, ...).
A FaceswapError is printed as one line on stderr with exit code 1; `--debug`
shows the traceback instead. The options speak one dialect (faceswap.cli_style):
the same name, short flag, default and help text for the same option everywhere.

Each command imports its stage inside its body: the stages load torch, which
takes seconds, and `faceswap --help` should not wait for it.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Literal, Optional

import typer

from faceswap import __version__
from faceswap import cli_style as say
from faceswap.cli_style import Command, Group
from faceswap.errors import FaceswapError, os_error_line

app = typer.Typer(
    name="faceswap",
    cls=Group,
    help="Swap faces in videos: extract faces, train a model, convert a video. "
    "Swap only faces of people who agreed to it; outputs are labelled as synthetic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, two columns, as established tools print it
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
@app.command(cls=Command)
def extract(
    input: Path = typer.Argument(..., help="A video, an image, or a folder of images."),
    output: Path = typer.Option(..., "--output", "-o", metavar="FACESET", help="Faceset folder to write: aligned PNGs and alignments.json."),
    size: int = typer.Option(256, "--size", "-s", help="Side of the aligned face crops in pixels."),
    coverage: float = typer.Option(0.75, "--coverage", help="Fraction of the crop the face takes; smaller shows more around it."),
    every: int = typer.Option(1, "--every", help="Examine every Nth frame only."),
    max_faces: int = typer.Option(1, "--max-faces", help="Faces kept per frame, largest first (0: all)."),
    min_size: int = typer.Option(40, "--min-size", help="Smallest face to keep, in pixels."),
    threshold: float = typer.Option(0.9, "--threshold", help="Detector score a face needs, from 0 to 1."),
    blur: Optional[float] = typer.Option(None, "--blur", help="Drop crops whose variance of the Laplacian is below this (e.g. 50)."),
    detect_size: int = typer.Option(640, "--detect-size", help="Longest side frames shrink to for full detection (0: full size)."),
    redetect_every: int = typer.Option(25, "--redetect-every", help="Full detection at least every N examined frames (1: no tracking)."),
    smooth: bool = typer.Option(False, "--smooth/--no-smooth", help="Smooth landmarks over time."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Frames read and detected per batch."),
    like: Optional[list[Path]] = typer.Option(None, "--like", metavar="PHOTO", help="Photo of the person to keep (repeat for more photos of them); others are ignored. Needs the identity extra."),
    like_threshold: float = typer.Option(0.6, "--like-threshold", help=say.LIKE_THRESHOLD),
    rotate: Literal["auto", "off"] = typer.Option("auto", "--rotate", help=say.ROTATE),
    force: bool = typer.Option(False, "--force", "-f", help=say.FORCE),
    progress: bool = typer.Option(True, "--progress/--no-progress", help=say.PROGRESS),
) -> None:
    """Detect, align and crop faces into a faceset.

    INPUT is a video, an image or a folder of images. Re-running into an unfinished faceset resumes it. With several people in
    the video, the --max-faces largest faces of each frame are kept, whoever
    they are (a warning says so); --like PHOTO keeps only that person's faces."""
    from faceswap.extract import extract as run_extract

    _at_least(size=(size, 16), every=(every, 1), max_faces=(max_faces, 0), min_size=(min_size, 0),
              detect_size=(detect_size, 0), redetect_every=(redetect_every, 1), batch_size=(batch_size, 1),
              blur=(blur, 0))
    run_extract(
        input, output, size=size, coverage=coverage, every=every, max_faces=max_faces, min_size=min_size,
        threshold=threshold, blur=blur, detect_size=detect_size, redetect_every=redetect_every, smooth=smooth,
        device=device, batch_size=batch_size, like=like, like_threshold=like_threshold, rotate=rotate == "auto",
        force=force, progress=progress,
    )


@app.command("sort", cls=Command)
def sort_faces(
    faceset: Path = typer.Argument(..., help="A faceset folder (from `faceswap extract`)."),
    by: Literal["identity", "blur", "yaw", "size"] = typer.Option("identity", "--by", help="The measure: identity (most like the majority first), blur (sharpest first), yaw (turned left to right) or size (largest first)."),
    rename: bool = typer.Option(False, "--rename", help="Prefix each file with its rank (alignments.json follows); without it, only list."),
) -> None:
    """List or rename a faceset's faces in the order of one measure."""
    from faceswap.extract.curate import sort_faceset

    for name, value in sort_faceset(faceset, by=by, rename=rename):
        typer.echo(f"{name}\t{value:.4f}")


@app.command(cls=Command)
def clean(
    faceset: Path = typer.Argument(..., help="A faceset folder (from `faceswap extract`)."),
    undo: bool = typer.Option(False, "--undo", help="Move every rejected face back and restore its alignments entry."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would move."),
    identity: bool = typer.Option(True, "--identity/--no-identity", help="Move faces of another person than the majority (needs the identity extra)."),
    threshold: float = typer.Option(0.6, "--threshold", help="Identity distance to the majority over which a face is another person."),
) -> None:
    """Move a faceset's outliers into FACESET/rejected/.

    Outliers are faces of another person, blurry or badly aligned faces, mostly covered faces and
    duplicates; it prints what moved and why, and `--undo` moves them back. `train` never reads rejected/."""
    from faceswap.extract.curate import clean_faceset, undo_clean

    if undo:
        typer.echo(f"clean: {undo_clean(faceset)} faces moved back into {faceset}")
        return
    typer.echo(clean_faceset(faceset, identity=identity, threshold=threshold, dry_run=dry_run).table())


# ---- end extract -------------------------------------------------------------

# ---- train ---------------------------------------------------------------
@app.command(cls=Command)
def train(
    faces_a: Path = typer.Argument(..., help="Faceset of identity A (from `faceswap extract`, or a folder of aligned faces)."),
    faces_b: Path = typer.Argument(..., help="Faceset of identity B."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", metavar="MODEL_DIR", help="Model directory to write; an existing one is resumed."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-i", help="Train until this total step count."),
    time: Optional[str] = typer.Option(None, "--time", "-t", metavar="DURATION", help=say.TIME),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Faces per identity per step (default: the preset's)."),
    preset: str = typer.Option("lightweight", "--preset", "-p", metavar=say.PRESETS, help="The model's architecture (the README's table of presets)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", "-r", help="Face size in pixels, a multiple of 16 (default: the preset's, or the prior's with --init)."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    seed: int = typer.Option(0, "--seed", help="Random seed (batches are a function of seed and step)."),
    loss: Literal["l1+dssim", "mse+dssim", "l1", "mse"] = typer.Option("l1+dssim", "--loss", help="Reconstruction loss."),
    mask: bool = typer.Option(False, "--mask", help="Decoders also learn a face mask for convert to blend with."),
    adversarial: float = typer.Option(0.0, "--adversarial", help="Weight of a GAN term (0: none)."),
    save_every: int = typer.Option(500, "--save-every", help="Checkpoint every N steps (also on Ctrl-C and at the end)."),
    preview_every: int = typer.Option(100, "--preview-every", help="Write preview.png every N steps."),
    compile: bool = typer.Option(False, "--compile", help="Compile the model with torch.compile (for a GPU)."),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", metavar="DIR", help="Log losses to this TensorBoard folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help=say.PROGRESS),
    threads: str = typer.Option("auto", "--threads", metavar="N|auto", help=say.THREADS),
    init: Optional[str] = typer.Option(None, "--init", metavar="PRIOR", help="Start a new model from a face prior: a shipped one by name (prior128, prior) or a folder made by `faceswap pretrain`, of the same preset and mask."),
    warp: bool = typer.Option(True, "--warp/--no-warp", help="Randomly warp the input faces (start with it); resuming with --no-warp sharpens eyes and lips."),
    occlusion: Optional[bool] = typer.Option(None, "--occlusion/--no-occlusion", help="With --mask, leave what covers each face (the occlusion model's cover: hands, microphones, glasses) out of the mask the decoders learn (default: on when weights/occluder is installed)."),
    face_region: Optional[bool] = typer.Option(None, "--face-region/--no-face-region", help="With --mask, the decoders learn each face's own outline (the face-region model: hairline, jaw; no hair or ears) instead of one ellipse (default: on when weights/face_region is installed)."),
) -> None:
    """Train a swap model of two people.

    One shared encoder learns both faces, one decoder each draws one person.
    An existing model directory is resumed. Without --iterations or --time it
    trains until Ctrl-C, which saves. Several GPUs: torchrun --standalone
    --nproc_per_node N -m faceswap.cli train A B -m MODEL_DIR."""
    from faceswap.train import train as run_train
    from faceswap.train.pipeline import parse_duration

    _at_least(iterations=(iterations, 0), batch_size=(batch_size, 1), resolution=(resolution, 16),
              adversarial=(adversarial, 0), save_every=(save_every, 0), preview_every=(preview_every, 0))
    _check_threads(threads)
    if resolution is not None and resolution % 16:
        raise FaceswapError(f"--resolution {resolution}: must be a multiple of 16 (e.g. 64, 128)")
    summary = run_train(
        faces_a, faces_b, model_dir, iterations=iterations, time=parse_duration(time), batch_size=batch_size,
        preset=preset, resolution=resolution, device=device, seed=seed, loss=loss, mask=mask,
        adversarial=adversarial, save_every=save_every, preview_every=preview_every, compile=compile,
        tensorboard=tensorboard, progress=progress, threads=threads, init=init, warp=warp, occlusion=occlusion, face_region=face_region,
    )
    typer.echo(summary.describe())


@app.command(cls=Command)
def pretrain(
    facesets: list[Path] = typer.Argument(..., help="Facesets of many people (two or more), none of whom you will swap."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", metavar="MODEL_DIR", help="Model directory to write the prior to; an existing one is resumed."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-i", help="Train until this total step count."),
    time: Optional[str] = typer.Option(None, "--time", "-t", metavar="DURATION", help=say.TIME),
    preset: str = typer.Option("lightweight", "--preset", "-p", metavar=say.PRESETS, help="The architecture of the models the prior is for."),
    resolution: Optional[int] = typer.Option(None, "--resolution", "-r", help="Face size in pixels, a multiple of 16 (default: the preset's)."),
    mask: bool = typer.Option(False, "--mask", help="Also learn a face mask (for models trained with --mask)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Faces per decoder per step (default: the preset's)."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    seed: int = typer.Option(0, "--seed", help="Random seed (batches are a function of seed and step)."),
    threads: str = typer.Option("auto", "--threads", metavar="N|auto", help=say.THREADS),
    progress: bool = typer.Option(True, "--progress/--no-progress", help=say.PROGRESS),
) -> None:
    """Train a face prior on many people to start swap models from.

    Start a model from it with `faceswap train A B -m MODEL_DIR --init PRIOR`;
    the models started from it need the same preset, resolution and mask.
    Without --iterations or --time it trains until Ctrl-C, which saves."""
    from faceswap.train.pipeline import parse_duration
    from faceswap.train.pretrain import pretrain as run_pretrain

    _check_threads(threads)
    _at_least(iterations=(iterations, 0), resolution=(resolution, 16), batch_size=(batch_size, 1))
    if resolution is not None and resolution % 16:
        raise FaceswapError(f"--resolution {resolution}: must be a multiple of 16 (e.g. 64, 128)")
    summary = run_pretrain(facesets, model_dir, iterations=iterations, time=parse_duration(time), preset=preset,
                           resolution=resolution, mask=mask, batch_size=batch_size, device=device, seed=seed,
                           threads=threads, progress=progress)
    typer.echo(summary.describe())


@app.command(cls=Command)
def refine(
    model_dir: Path = typer.Argument(..., help="A model directory made by `faceswap train`."),
    to: Optional[str] = typer.Option(None, "--to", metavar="IDENTITY", help="Whose detail to learn: the identity a swap paints (default: the model's second, B)."),
    faces: Optional[Path] = typer.Option(None, "--faces", metavar="FACESET", help="That identity's faceset (default: the one the model was trained on)."),
    scale: Optional[int] = typer.Option(None, "--scale", metavar="2|4", help="Upscaling factor (default: the larger one the faceset's crops allow, x4 for a 64 px model on 256 px crops, x2 for a 128 px one)."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-i", help="Train until this total step count (default 2000 without --time)."),
    time: Optional[str] = typer.Option(None, "--time", "-t", metavar="DURATION", help=say.TIME),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    threads: str = typer.Option("auto", "--threads", metavar="N|auto", help=say.THREADS),
    progress: bool = typer.Option(True, "--progress/--no-progress", help=say.PROGRESS),
) -> None:
    """Train a detail upsampler for one person of a model.

    It enlarges the face the model draws 2 or 4 times (a 64 or 128 px face to
    256 px, from extract's default 256 px crops), with detail learnt from the
    person's real crops; convert uses it automatically.
    Resumable: run again to continue."""
    from faceswap.train.pipeline import parse_duration
    from faceswap.train.refine import refine as run_refine

    if scale not in (None, 2, 4):
        raise FaceswapError(f"--scale {scale}: must be 2 or 4")
    _at_least(iterations=(iterations, 1))
    _check_threads(threads)
    out = run_refine(model_dir, identity=to, faces=faces, scale=scale, steps=iterations,
                     time=parse_duration(time), device=device, threads=threads, progress=progress)
    typer.echo(f"saved {out['dir']} at step {out['step']} ({out['seconds']:.0f} s); "
               + ", ".join(f"{k} {v:.4f}" for k, v in out["loss"].items()))


# ---- end train ---------------------------------------------------------------

# ---- convert ---------------------------------------------------------------
@app.command(cls=Command)
def convert(
    input: Path = typer.Argument(..., help="A video, an image, or a folder of images."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", metavar="MODEL_DIR", help="A model directory made by `faceswap train`."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .mp4 (video), .png (image) or folder (folder of images)."),
    to: Optional[str] = typer.Option(None, "--to", metavar="IDENTITY", help="The identity (or faceset name) whose face is painted (default: the other one)."),
    alignments: Optional[Path] = typer.Option(None, "--alignments", "-a", metavar="FILE", help="The alignments.json extract wrote for this input, to skip detection."),
    mask: Literal["auto", "learned", "face", "ellipse", "box"] = typer.Option("auto", "--mask", help="Where the swapped face is pasted (auto: the learned mask when the model has one)."),
    mask_erode: float = typer.Option(0.0, "--mask-erode", help="Shrink the mask by this % of the face crop (negative grows it)."),
    mask_blur: float = typer.Option(5.0, "--mask-blur", help="Feather the mask edge over this % of the face crop."),
    color: Literal["none", "mean", "reinhard", "hist", "light"] = typer.Option("light", "--color", help="How the swapped face's colours are matched to the frame (light: the frame's shading under the swap's detail)."),
    blend: Literal["alpha", "poisson"] = typer.Option("alpha", "--blend", help="How the swapped face is blended into the frame."),
    sharpen: str = typer.Option("auto", "--sharpen", metavar="0-4|auto", help="Sharpen the swapped face without halos, 0 (off) to 4; auto: 1 for faces a detail upsampler drew, else 0."),
    occlusion: Optional[bool] = typer.Option(None, "--occlusion/--no-occlusion", help="Keep the original pixels where the occlusion model (weights/occluder) finds the face covered: hands, microphones, glasses (default: on when it is installed)."),
    face_region: Optional[bool] = typer.Option(None, "--face-region/--no-face-region", help="Paint only inside A's face region (the face-region model, weights/face_region): the blend ends where skin meets hair, and nothing lands on A's hair, ears or neck (default: on when it is installed)."),
    smooth: bool = typer.Option(True, "--smooth/--no-smooth", help="Smooth the face alignment over time (video)."),
    hold_frames: int = typer.Option(30, "--hold-frames", help="Keep a face that cover hides from the detector for at most this many frames (video; 0: never)."),
    detail: bool = typer.Option(True, "--detail/--no-detail", help="Upscale faces with the model's detail upsampler (from `faceswap refine`) when it has one."),
    watermark: Optional[str] = typer.Option(None, "--watermark", help="Draw this visible label on every frame."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    batch_size: int = typer.Option(16, "--batch-size", "-b", help="Faces per model call."),
    like: Optional[list[Path]] = typer.Option(None, "--like", metavar="PHOTO", help="Photo of the person to swap (repeat for more photos of them); everyone else is left untouched. Needs the identity extra."),
    like_threshold: float = typer.Option(0.6, "--like-threshold", help=say.LIKE_THRESHOLD),
    rotate: Literal["auto", "off"] = typer.Option("auto", "--rotate", help=say.ROTATE),
    force: bool = typer.Option(False, "--force", "-f", help=say.FORCE),
    progress: bool = typer.Option(True, "--progress/--no-progress", help=say.PROGRESS),
    backend: Literal["auto", "torch", "bf16", "onnx"] = typer.Option("auto", "--backend", help="What runs the model: torch in fp32, torch in bfloat16 (CPUs with native bf16), ONNX Runtime (the onnx extra); auto times each on this machine and keeps the fastest."),
) -> None:
    """Swap the faces of a video or images, labelled as synthetic.

    The output carries metadata saying it is synthetic media made by faceswap.
    Without --like, EVERY face found in a frame is swapped (a warning says
    when a frame holds several); --like PHOTO swaps only that person."""
    from faceswap.convert import convert as run_convert
    from faceswap.convert.sharpen import parse_sharpen

    _at_least(mask_blur=(mask_blur, 0), batch_size=(batch_size, 1), hold_frames=(hold_frames, 0))

    summary = run_convert(
        input, model_dir, output, to=to, alignments=alignments, mask=mask, mask_erode=mask_erode,
        mask_blur=mask_blur, occlusion=occlusion, face_region=face_region, color=color, blend=blend, sharpen=parse_sharpen(sharpen), smooth=smooth, hold_frames=hold_frames,
        detail=detail,
        watermark=watermark, device=device, batch_size=batch_size, like=like, like_threshold=like_threshold,
        rotate=rotate == "auto", force=force, progress=progress, backend=backend,
    )
    typer.echo(str(summary))


@app.command(cls=Command)
def export(
    model_dir: Path = typer.Argument(..., help="A model directory made by `faceswap train`."),
    output: Path = typer.Option(..., "--output", "-o", metavar="FILE", help="The file to write: .onnx (ONNX Runtime) or .dfm (DeepFaceLive)."),
    format: Optional[str] = typer.Option(None, "--format", metavar="onnx|dfm", help="The file's format (default: from the output's suffix)."),
    to: Optional[str] = typer.Option(None, "--to", metavar="IDENTITY", help="The identity (or faceset name) whose face is painted (default: the other one)."),
    detail: bool = typer.Option(True, "--detail/--no-detail", help="Include the model's detail upsampler (from `faceswap refine`) when it has one."),
    force: bool = typer.Option(False, "--force", "-f", help=say.FORCE),
) -> None:
    """Export a swap model as one ONNX graph, .onnx or .dfm.

    An .onnx file runs in ONNX Runtime (`faceswap live -m FILE.onnx` takes it), a
    .dfm in DeepFaceLive."""
    from faceswap.convert.export import export as run_export

    typer.echo(str(run_export(model_dir, output, format=format, to=to, detail=detail, force=force)))


@app.command(cls=Command)
def live(
    source: str = typer.Option(..., "--source", metavar="SOURCE", help="A camera index (0), a stream URL or a video file (played at its own frame rate)."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", metavar="MODEL_DIR", help="A model directory made by `faceswap train`, or a .onnx from `faceswap export`."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE", help="Also write the swapped feed to this .mp4 (labelled as synthetic)."),
    window: bool = typer.Option(False, "--window", help="Show the swapped feed in a window (needs an OpenCV with a GUI)."),
    virtual_camera: bool = typer.Option(False, "--virtual-camera", help="Send the swapped feed to a virtual camera (needs pyvirtualcam and a loopback device)."),
    to: Optional[str] = typer.Option(None, "--to", metavar="IDENTITY", help="The identity (or faceset name) whose face is painted (default: the other one)."),
    detail: bool = typer.Option(True, "--detail/--no-detail", help="Upscale faces with the model's detail upsampler (from `faceswap refine`) when it has one."),
    seconds: Optional[float] = typer.Option(None, "--seconds", help="Stop after this many seconds (default: at the end of the source, or Ctrl-C)."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    backend: Literal["auto", "torch", "bf16", "onnx"] = typer.Option("auto", "--backend", help="What runs the model: torch in fp32, torch in bfloat16 (CPUs with native bf16), ONNX Runtime (the onnx extra); auto times each on this machine and keeps the fastest."),
) -> None:
    """Swap the faces of a camera, stream or video as the frames arrive.

    Frames are dropped rather than falling behind, so the latency stays bounded."""
    from faceswap.convert.live import live as run_live

    run_live(source, model_dir, output=output, window=window, virtual_camera=virtual_camera, to=to, detail=detail,
             seconds=seconds, device=device, backend=backend)


# ---- end convert -------------------------------------------------------------

# ---- demo and evaluate ---------------------------------------------------------------
@app.command(cls=Command)
def demo(
    output: Path = typer.Option(Path("demo-output"), "--output", "-o", metavar="FOLDER", help="Folder for the clips, facesets, swapped video and picture."),
    train: bool = typer.Option(False, "--train", help="Train a quick 64 px model from scratch instead of using the shipped one (3000 iterations, about 13 minutes on a 2-core CPU at 65 faces/s, then Hopper's upsampler)."),
    iterations: int = typer.Option(3000, "--iterations", "-i", help="Training iterations with --train."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    force: bool = typer.Option(False, "--force", "-f", help=say.FORCE),
    progress: bool = typer.Option(True, "--progress/--no-progress", help=say.PROGRESS),
) -> None:
    """Swap Grace Hopper's face onto Eileen Collins in a short clip.

    Both are public-domain portraits that ship inside scikit-image and
    matplotlib; the shipped `demo` model swaps them unless --train."""
    from faceswap.demo import demo as run_demo

    _at_least(iterations=(iterations, 1))
    run_demo(output, train=train, iterations=iterations, device=device, force=force, progress=progress)


@app.command(cls=Command)
def evaluate(
    original: Path = typer.Argument(..., help="The source video."),
    swapped: Path = typer.Argument(..., help="The converted video made from it."),
    model_dir: Path = typer.Option(..., "--model-dir", "-m", metavar="MODEL_DIR", help="The model directory the swap was made with."),
    faces_a: Optional[Path] = typer.Option(None, "--faces-a", metavar="FACESET", help="Faceset of identity A (default: the one the model was trained on)."),
    faces_b: Optional[Path] = typer.Option(None, "--faces-b", metavar="FACESET", help="Faceset of identity B (default: the one the model was trained on)."),
    every: int = typer.Option(1, "--every", help="Compare every Nth frame."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    to: Optional[str] = typer.Option(None, "--to", metavar="IDENTITY", help="The identity painted in (default: the model's second)."),
    identity: bool = typer.Option(True, "--identity/--no-identity", help="Measure who the swapped face looks like (needs the identity extra)."),
) -> None:
    """Score a swap: identity, sharpness, pose kept and flicker.

    Also what a viewer watches (from 468 face landmarks): how closely the
    mouth and the eyes follow the source's, the edge where the pasted face
    ends (seam), the skin detail on cheeks and forehead; the reconstruction
    SSIM and PSNR of each identity; and a line of advice where a figure calls
    for one."""
    from faceswap.evaluate import evaluate as run_evaluate

    _at_least(every=(every, 1))
    report = run_evaluate(original, swapped, model_dir, faces_a=faces_a, faces_b=faces_b, every=every, device=device,
                          to=to, identity=identity)
    typer.echo(json.dumps(report.to_dict(), indent=1) if as_json else report.table())


# ---- end demo and evaluate ---------------------------------------------------

# ---- ui ----------------------------------------------------------------------
@app.command(cls=Command)
def ui(
    root: Path = typer.Option(Path("."), "--root", metavar="DIR", help="The only folder the page may read and write (default: here)."),
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS", help="Address to listen on; a non-local one needs --auth."),
    port: int = typer.Option(7860, "--port", help="Port to listen on."),
    auth: Optional[str] = typer.Option(None, "--auth", metavar="USER:PASSWORD", help="The user name and password the page asks for."),
    device: Optional[str] = typer.Option(None, "--device", metavar="DEVICE", help=say.DEVICE),
) -> None:
    """Start the local web page for the whole path.

    Extract, train (live preview and losses), convert (live frame preview),
    evaluate and demo, each in a tab."""
    from faceswap.ui.server import serve

    if not 1 <= port <= 65535:
        raise FaceswapError(f"--port {port}: must be from 1 to 65535")
    serve(root, host=host, port=port, auth=auth, device=device)


# ---- end ui ------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the console script: run the app, turn user errors into
    one line and a non-zero exit code."""
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
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError" or ctx is None:  # a bare `faceswap`: the help
                e.show()
                return e.exit_code
            # one line like every other mistake; exit code 2, as for any mistyped command line
            message = e.format_message().replace("Value error, ", "").rstrip(".")
            typer.echo(f"faceswap: error: {message} (see `{ctx.command_path} --help`)", err=True)
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
