"""Swap quality against CPU minutes, for each training route, on a real pair.

A route is a way to spend a CPU budget on one pair of people (A's video, B's
faces). Each route trains on one CPU thread; a snapshot of the model is kept
whenever its training has used each budget of CPU time (process time, so a
busy machine slows the run but does not change the budget). Every snapshot then
converts the same clip of A with the faceset's alignments and is scored by
`faceswap evaluate`: the share of swapped frames recognised as B and as A, the
median distance to B, sharpness (face box at 96 px, swapped over original),
landmark displacement and flicker ratio. Prints one table, figures last.
The swaps use convert's default halo-free sharpening (auto: on for faces a
detail upsampler drew) unless `--sharpen` says otherwise (`--sharpen 0 1`
scores each snapshot both ways).

    python scripts/bench_quality.py --work /tmp/q                 # every route, budgets 5 10 20 30 min
    python scripts/bench_quality.py --work /tmp/q --routes baseline --budgets 2 5
    python scripts/bench_quality.py --work /tmp/q --stage eval      # only (re)score existing snapshots

Routes:
  baseline   the lightweight preset (64 px, --mask) for the whole budget,
             converted without a detail upsampler (bicubic to the paste size)
  refine     the same model trained for 3/4 of the budget, plus B's detail
             upsampler (`faceswap refine`) trained for the last quarter
  prior+refine  as refine, the swap model started from a face prior
             (`faceswap pretrain` on the other ten shared identities, weights/prior;
             the prior's own training is not counted)
  prior+nowarp+refine  as prior+refine, but the swap model trains with the
             random warp for only the first quarter of the budget and without
             it (`train --no-warp`) for the next half; the upsampler gets the
             last quarter
  128+nowarp+refine  as prior+nowarp+refine at 128 px: the swap model is
             `lightweight --resolution 128`, started from the 128 px prior
             (weights/prior128), and B's upsampler goes x2 (128 -> 256 px)
  128+nowarp  the same 128 px start, then --no-warp for the rest of the budget
             and no upsampler (convert enlarges bicubic x2 to the paste size)
  128+nowarp+refine+region  as 128+nowarp+refine, but the mask target is each
             face's own face region (train --face-region) and convert multiplies
             its mask by A's (convert --face-region); every other route trains and
             converts with --no-face-region, as before the face-region model
  128+longnowarp+refine+region  as 128+nowarp+refine+region, but the random
             warp only for the first eighth of the budget and --no-warp for the
             next five eighths
Priors are read from `--priors` (default weights/): `prior` for 64 px, `prior128`.
The pair defaults to d6 (A) -> d10 (B) from ../shared/data/faces.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FACES = ROOT.parent / "shared" / "data" / "faces"

from faceswap.convert.sharpen import parse_sharpen  # noqa: E402

# prior: the folder under --priors the swap model starts from (None: from scratch)
ROUTES = {
    "baseline": dict(prior=None, refine_share=0.0),
    "refine": dict(prior=None, refine_share=0.25),
    "prior+refine": dict(prior="prior", refine_share=0.25),
    "prior+nowarp+refine": dict(prior="prior", nowarp_share=0.5, refine_share=0.25),
    "128+nowarp+refine": dict(prior="prior128", resolution=128, nowarp_share=0.5, refine_share=0.25),
    "128+nowarp": dict(prior="prior128", resolution=128, nowarp_share=0.75, refine_share=0.0),
    "128+nowarp+refine+region": dict(prior="prior128", resolution=128, nowarp_share=0.5, refine_share=0.25,
                                     region=True),
    "128+longnowarp+refine+region": dict(prior="prior128", resolution=128, nowarp_share=0.625, refine_share=0.25,
                                         region=True),
}


def cpu_seconds() -> float:
    return time.process_time()


def ensure_facesets(work: Path, a: str, b: str, clip_frames: int) -> tuple[Path, Path, Path]:
    """Facesets of both videos and a short clip of A to convert (made once, reused)."""
    from faceswap.extract import extract
    from faceswap.video import cut_clip

    faces = work / "faces"
    for name in (a, b):
        if not (faces / name / "alignments.json").is_file():
            extract(FACES / f"{name}.mp4", faces / name, force=True, progress=False)
    clip = work / f"{a}_{clip_frames}.mp4"
    if not clip.is_file():
        cut_clip(FACES / f"{a}.mp4", clip, clip_frames)
    if not (faces / f"{a}_clip" / "alignments.json").is_file():
        extract(clip, faces / f"{a}_clip", force=True, progress=False)
    return faces / a, faces / b, clip


def _model_step(model_dir: Path) -> int:
    cfg = model_dir / "config.json"
    if not cfg.is_file():
        return 0
    return int(json.loads(cfg.read_text()).get("extra", {}).get("faceswap", {}).get("step", 0))


def _minutes(snap: Path) -> float:
    return float(snap.name.split("@")[1][:-3])


def _swap_key(route: str) -> tuple:
    """What the routes sharing one swap model have in common: its prior, mask target and loss."""
    r = ROUTES[route]
    return r["prior"], bool(r.get("region")), float(r.get("mouth_weight", 1.0))


def _swap_dir(work: Path, key: tuple) -> Path:
    """The shared swap model of every route with this key (the prior's name fixes the resolution)."""
    prior, region, mouth = key
    name = f"swap-{prior}" if prior else "swap"
    if region:
        name += "-region"
    if mouth != 1.0:
        name += f"-mouth{mouth:g}"
    return work / name


def _train_cpu(fa: Path, fb: Path, model_dir: Path, seconds: float, chunk: int, **spec) -> float:
    """Train `model_dir` (new or resumed) in `chunk`-step calls until `seconds` of
    process CPU time are spent; returns the seconds spent."""
    from faceswap.train import train

    spent, per_step = 0.0, None
    while spent < seconds:
        # no more steps than the time left allows, so a slow model does not overrun its budget by a chunk
        steps = chunk if per_step is None else max(1, min(chunk, round((seconds - spent) / per_step)))
        t0 = cpu_seconds()
        if (model_dir / "config.json").is_file():
            spec["init"] = None  # started from the prior already; now it resumes
        summary = train(fa, fb, model_dir, iterations=_model_step(model_dir) + steps, **spec)  # a total
        if summary.interrupted:  # Ctrl-C or SIGTERM: train saved the model; stop the benchmark too
            sys.exit(f"interrupted; {model_dir} saved at step {summary.step}")
        spent += cpu_seconds() - t0
        per_step = (cpu_seconds() - t0) / steps
    return spent


def _spec(prior: Path | None = None, warp: bool = True, resolution: int = 64, region: bool = False,
          mouth_weight: float = 1.0) -> dict:
    return dict(preset="lightweight", resolution=resolution, mask=True, device="cpu", progress=False,
                preview_every=0, save_every=0, threads=1, init=prior, warp=warp, face_region=region,
                mouth_weight=mouth_weight)


def _route_spec(route: str, **kw) -> dict:
    r = ROUTES[route]
    return _spec(resolution=r.get("resolution", 64), region=bool(r.get("region")),
                 mouth_weight=float(r.get("mouth_weight", 1.0)), **kw)


def train_swap(fa: Path, fb: Path, work: Path, points: list[float], chunk: int, prior: Path | None,
               route: str) -> None:
    """Train the one swap model every route shares, snapshotting at each CPU-minute point.

    The routes differ only in what they do with part of the budget, so one
    training run serves them all (resume is exact, so the snapshots are what
    separate runs of those lengths would give; they keep the optimizer state so
    that a route can go on training from them)."""
    import torch

    torch.set_num_threads(1)
    spec = _route_spec(route, prior=prior)
    home = _swap_dir(work, _swap_key(route))
    model_dir = home / "model"
    log = home / "train_cpu.json"
    spent = json.loads(log.read_text())["seconds"] if log.is_file() else 0.0
    for point in sorted(points):
        snap = home / f"snap@{point:g}min"
        if snap.is_dir():
            continue
        if spent < point * 60:
            spent += _train_cpu(fa, fb, model_dir, point * 60 - spent, chunk, **spec)
            log.write_text(json.dumps({"seconds": spent, "step": _model_step(model_dir)}))
            print(f"[{home.name}] step {_model_step(model_dir)}  {spent / 60:.1f} CPU min", flush=True)
        shutil.copytree(model_dir, snap)
        (snap / "bench.json").write_text(json.dumps({"cpu_minutes": point, "cpu_spent": spent / 60,
                                                     "step": _model_step(snap)}))


def _warp_minutes(route: str, budget: float) -> float:
    r = ROUTES[route]
    return budget * (1 - r["refine_share"] - r.get("nowarp_share", 0.0))


def make_route(route: str, work: Path, budget: float, fa: Path, fb: Path, chunk: int) -> None:
    """The route's model at `budget` CPU minutes: the shared swap snapshot plus the route's extra."""
    share, nowarp = ROUTES[route]["refine_share"], ROUTES[route].get("nowarp_share", 0.0)
    snap = work / route / f"snap@{budget:g}min"
    if ROUTES[route]["prior"] and not _swap_dir(work, _swap_key(route)).is_dir():
        return
    if (snap / "bench.json").is_file():
        return
    if snap.exists():
        shutil.rmtree(snap)
    src = _swap_dir(work, _swap_key(route)) / f"snap@{_warp_minutes(route, budget):g}min"
    shutil.copytree(src, snap)
    # CPU time spent past the plan (training stops between steps) comes off the route's next phase
    info = json.loads((src / "bench.json").read_text())
    total = 60 * info.get("cpu_spent", info["cpu_minutes"])
    debt = total - 60 * info["cpu_minutes"]
    import torch

    torch.set_num_threads(1)
    if nowarp:
        planned = budget * 60 * nowarp - debt
        spent = _train_cpu(fa, fb, snap, planned, chunk, **_route_spec(route, warp=False))
        debt, total = spent - planned, total + spent
        print(f"[{route}] without warp to step {_model_step(snap)}, {spent / 60:.1f} CPU min", flush=True)
    step = _model_step(snap)
    if share:
        from faceswap.train.refine import refine

        t0 = cpu_seconds()
        out = refine(snap, cpu_time=budget * 60 * share - debt, threads=1, progress=False)
        total += cpu_seconds() - t0
        print(f"[{route}] detail upsampler: {out['step']} steps, {(cpu_seconds() - t0) / 60:.1f} CPU min", flush=True)
    (snap / "trainer.pt").unlink(missing_ok=True)
    (snap / "bench.json").write_text(json.dumps({"cpu_minutes": budget, "cpu_spent": total / 60, "step": step}))


def swap_name(sharpen: str, color: str = "reinhard") -> str:
    return f"swap_sharpen-{sharpen}.mp4" if color == "reinhard" else f"swap_sharpen-{sharpen}_color-{color}.mp4"


def eval_route(route: str, clip: Path, clip_faces: Path, fa: Path, fb: Path, work: Path,
               sharpen: str, every: int = 1, color: str = "reinhard") -> list[dict]:
    from faceswap.convert import convert
    from faceswap.evaluate import evaluate

    rows = []
    for snap in sorted((work / route).glob("snap@*min"), key=_minutes):
        info = json.loads((snap / "bench.json").read_text())
        out = snap / swap_name(sharpen, color)
        if not out.is_file():
            convert(clip, snap, out, alignments=clip_faces / "alignments.json", force=True, progress=False,
                    sharpen=parse_sharpen(sharpen), face_region=bool(ROUTES[route].get("region")), color=color)
        report = evaluate(clip, out, snap, faces_a=fa, faces_b=fb, every=every)
        ident = report.identity
        rows.append(dict(route=route, minutes=info["cpu_minutes"], step=info["step"], sharpen=sharpen, color=color,
                         share_b=ident.get("share_to"), share_a=ident.get("share_source"),
                         dist_b=ident.get("median_to"), real_b=ident.get("real_to"),
                         nearer_b=ident.get("nearer_to"), pair=ident.get("pair_distance"), sharpness=report.sharpness,
                         ceiling=report.sharpness_ceiling, inner=report.inner_sharpness,
                         inner_ceiling=report.inner_ceiling, landmarks=report.landmark_displacement,
                         flicker=report.flicker_ratio, mouth=report.mouth_correlation,
                         eyes=report.eye_correlation, seam=report.seam, skin=report.skin_detail,
                         skin_ceiling=report.skin_ceiling))
        print(f"[{route}] scored {snap.name} ({out.name})", flush=True)
    return rows


def picture(clip: Path, swapped: Path, out: Path, count: int = 4, side: int = 256) -> Path:
    """`count` frames spread over the clip: the input above, the swap below, each
    cropped square around the face (from the clip's faceset) and resized to `side`."""
    import cv2
    import numpy as np

    from faceswap.video import FrameReader

    align = json.loads((clip.parent / "faces" / f"{clip.stem.split('_')[0]}_clip" / "alignments.json").read_text())
    n = sum(1 for _ in FrameReader(clip))
    picks = [int(i) for i in np.linspace(n * 0.1, n * 0.9, count)]
    rows = {0: [], 1: []}
    for row, path in enumerate((clip, swapped)):
        for frame in FrameReader(path):
            if frame.index not in picks:
                continue
            x1, y1, x2, y2 = align["frames"][str(frame.index)][0]["box"]
            c, r = ((x1 + x2) / 2, (y1 + y2) / 2), 0.8 * max(x2 - x1, y2 - y1)
            h, w = frame.image.shape[:2]
            box = [int(max(c[0] - r, 0)), int(max(c[1] - r, 0)), int(min(c[0] + r, w)), int(min(c[1] + r, h))]
            face = frame.image[box[1]:box[3], box[0]:box[2]]
            rows[row].append(cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA))
    image = np.vstack([np.hstack(rows[0]), np.hstack(rows[1])])
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="folder for facesets, models and swaps (resumable)")
    ap.add_argument("--routes", nargs="+", default=list(ROUTES), choices=list(ROUTES))
    ap.add_argument("--budgets", nargs="+", type=float, default=[5, 10, 20, 30], help="CPU minutes")
    ap.add_argument("--pair", nargs=2, default=["d6", "d10"], metavar=("A", "B"))
    ap.add_argument("--clip-frames", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=100, help="steps between CPU-time checks")
    ap.add_argument("--stage", choices=["all", "train", "eval"], default="all")
    ap.add_argument("--every", type=int, default=1, help="score every Nth frame of the clip")
    ap.add_argument("--sharpen", nargs="+", default=["auto"],
                    help="convert's --sharpen for the swaps, auto or an amount (several: a row each)")
    ap.add_argument("--color", nargs="+", default=["light"],
                    help="convert's --color for the swaps (several: a row each)")
    ap.add_argument("--priors", type=Path, default=ROOT / "weights",
                    help="the folder holding the routes' face priors (prior, prior128: made by scripts/train_prior.py)")
    args = ap.parse_args()
    if not FACES.is_dir():
        sys.exit(f"{FACES}: the shared face videos are needed")
    args.work.mkdir(parents=True, exist_ok=True)
    fa, fb, clip = ensure_facesets(args.work, *args.pair, args.clip_frames)
    if args.stage in ("all", "train"):
        for key in dict.fromkeys(_swap_key(r) for r in args.routes):  # each shared swap model, in order
            routes = [r for r in args.routes if _swap_key(r) == key]
            name = key[0]
            prior = args.priors / name if name else None
            if prior is not None and not (prior / "config.json").is_file():
                sys.exit(f"{prior}: no face prior; run scripts/train_prior.py or pass --priors")
            if prior is not None:
                meta = json.loads((prior / "config.json").read_text())["extra"]["faceswap"]
                seen = set()
                for key in ("faceset_a", "faceset_b"):
                    given = meta.get(key) or []
                    seen |= {Path(f).name for f in ([given] if isinstance(given, str) else given)}
                if seen & set(args.pair):
                    sys.exit(f"{prior}: was pretrained on {sorted(seen & set(args.pair))}, the pair under test")
            points = {_warp_minutes(r, b) for r in routes for b in args.budgets}
            train_swap(fa, fb, args.work, sorted(points), args.chunk, prior, routes[0])
        for route in args.routes:
            for budget in args.budgets:
                make_route(route, args.work, budget, fa, fb, args.chunk)
    if args.stage == "train":
        return
    rows = []
    for route in args.routes:
        for amount in args.sharpen:
            for color in args.color:
                rows += eval_route(route, clip, args.work / "faces" / f"{args.pair[0]}_clip", fa, fb, args.work,
                                   amount, args.every, color)
        snaps = sorted((args.work / route).glob("snap@*min"), key=_minutes)
        if snaps:
            for color in args.color:
                swap = snaps[-1] / swap_name(args.sharpen[0], color)
                print(f"[{route}] picture: {picture(clip, swap, args.work / route / f'picture_{color}.png')}")
    (args.work / "quality.json").write_text(json.dumps(rows, indent=1))
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    print(f"\n{args.pair[0]} -> {args.pair[1]}, {args.clip_frames} frames (every {args.every}), one CPU thread")
    label = lambda r: r["route"] + ("" if r.get("color", "reinhard") == "reinhard" else f" --color {r['color']}")  # noqa: E731
    width = max([len(label(r)) for r in rows] + [5])
    print(f"{'route':{width}s} CPU min  steps  sharpen   as B    as A  nearer B  dist B  sharp box (ceiling)  inner (ceiling)  landmarks  flicker")
    for r in rows:
        print(f"{label(r):{width}s} {r['minutes']:7g} {r['step']:6d} {r['sharpen']:>8s} {fmt(r['share_b'] and 100 * r['share_b'], '6.1f')}% "
              f"{fmt(r['share_a'] is not None and 100 * r['share_a'], '6.1f')}%  {fmt(r.get('nearer_b') is not None and 100 * r['nearer_b'], '6.1f')}%  {fmt(r['dist_b'], '.3f')}  "
              f"{fmt(r['sharpness'], '.3f')}    ({fmt(r['ceiling'], '.3f')})    {fmt(r['inner'], '.3f')} ({fmt(r['inner_ceiling'], '.3f')})"
              f"   {fmt(r['landmarks'] and 100 * r['landmarks'], '.2f')} %"
              f"    {fmt(r['flicker'], '.3f')}")
    print("\nwhat a viewer watches (targets: mouth >= 0.9, eyes >= 0.95, seam <= 1.1, skin >= half its ceiling)")
    print(f"{'route':{width}s} CPU min  sharpen   mouth r  eyes r   seam   skin (ceiling)")
    for r in rows:
        print(f"{label(r):{width}s} {r['minutes']:7g} {r['sharpen']:>8s}   {fmt(r.get('mouth'), '.3f')}    "
              f"{fmt(r.get('eyes'), '.3f')}   {fmt(r.get('seam'), '.3f')}  {fmt(r.get('skin'), '.3f')} "
              f"({fmt(r.get('skin_ceiling'), '.3f')})")
    if rows and rows[0].get("real_b") is not None:
        print(f"real {args.pair[1]} faces lie at a median {rows[0]['real_b']:.3f} from their own mean")
    if rows and rows[0].get("pair") is not None:
        print(f"the means of {args.pair[0]} and {args.pair[1]} lie {rows[0]['pair']:.3f} apart (same person: < 0.6)")


if __name__ == "__main__":
    main()
