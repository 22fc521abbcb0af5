"""Measure occlusion handling on a held-out occluder with known alpha over a real face.

    python scripts/eval_occlusion.py                     # d6, 60 frames, weights/demo, weights/occluder
    python scripts/eval_occlusion.py --frames 40 --model models/a2b --occluder /tmp/occ
    python scripts/eval_occlusion.py --face d10 --other d6 --model MODEL --faces-b FACESET   # a model trained on d10 -> B

Material (built here, nothing stored): the first FRAMES frames of d6 (`--face`; never
seen by the occlusion model), their landmarks found on the uncovered frames
(the truth), and the held-out "card" occluder (faceswap.train.cover.card_clip:
a rounded rectangle in the coffee photo's texture; the occlusion model was
trained on neither) moving across the face, composited with its exact alpha
and encoded as H.264 (crf 18) as a user's clip would be. Figures, with convert's
defaults (the clip's alignments given, so the landmarks are the truth):

- mask IoU: the occlusion model's cover (p > 0.5) against the card's alpha
  (> 0.5), summed over the covered frames, inside the landmark face outline and
  inside the face-region model's region of the uncovered frame (where convert
  paints; the outline also takes in hair at the temples, which is cover);
- false cover: share of face-region pixels called covered on uncovered frames
  of d6 and d10 (`--other`), in the landmark face outline and inside the face-region
  model's region (where convert paints: hair over the temples is cover, and outside it);
- kept: share of the card's pixels inside the face region (alpha >= 0.98) that
  stay within codec error (10 grey levels) of the covered input, with and
  without occlusion; and how much the uncovered frames change between the two;
- identity (when the identity extra is installed): share of frames whose
  swapped face lies within dlib's 0.6 of B (Grace Hopper's photo for weights/demo, or
  `--faces-b`), with and without occlusion.

The tests (tests/convert/test_occlusion.py) run these same functions on a shorter clip.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FACES = ROOT.parent / "shared" / "data" / "faces"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from faceswap.convert.blend import warp_to_frame  # noqa: E402
from faceswap.convert.masks import landmark_mask  # noqa: E402
from faceswap.extract.align import DEFAULT_COVERAGE, template_points, umeyama  # noqa: E402

CODEC_ERROR = 10  # grey levels: p99 of an H.264 crf 18 re-encode (tests/convert/test_pipeline.py)
CROP = 256        # side of the aligned crops the masks are compared in


def read_frames(path: Path) -> list[np.ndarray]:
    from faceswap.video import FrameReader

    return [f.image for f in FrameReader(path)]


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    from faceswap.video import VideoWriter

    h, w = frames[0].shape[:2]
    with VideoWriter(path, fps, w, h, preset="ultrafast") as writer:
        for f in frames:
            writer.write(f)
    return path


def clean_faceset(clip: Path, work: Path, name: str, frames: int) -> tuple[Path, Path, list[np.ndarray]]:
    """(clip of the first `frames` frames, its faceset with alignments, the per-frame landmarks)."""
    from faceswap.extract import extract
    from faceswap.extract.faceset import Alignments
    from faceswap.video import cut_clip

    short = work / f"{name}.mp4"
    cut_clip(clip, short, frames, preset="ultrafast")
    faces = work / f"{name}_faces"
    extract(short, faces, size=128, force=True, progress=False)
    al = Alignments.load(faces / "alignments.json")
    marks = {i: np.asarray(f["landmarks"], np.float64) for i, f in al.faces()}
    return short, faces, [marks.get(i) for i in range(frames)]


def truth_alignments(faces: Path, clip: Path, out: Path) -> Path:
    """The clean clip's alignments.json made out for `clip` (the covered copy of the same
    frames): convert then works on the true, uncovered landmarks."""
    import json

    from faceswap.extract.faceset import source_fingerprint

    doc = json.loads((faces / "alignments.json").read_text())
    doc["source"], doc["fingerprint"] = str(clip), source_fingerprint(clip)
    out.mkdir(parents=True, exist_ok=True)
    (out / "alignments.json").write_text(json.dumps(doc))
    return out / "alignments.json"


def region_in_crop(coverage: float = DEFAULT_COVERAGE) -> tuple[np.ndarray, np.ndarray]:
    """(template (5, 2), face region (CROP, CROP) 0/1) of the comparison crops."""
    template = template_points(CROP, coverage).astype(np.float64)
    return template, landmark_mask(CROP, template, "face")


def mask_quality(masker, frames: list[np.ndarray], landmarks: list[np.ndarray],
                 alphas: list[np.ndarray] | None, skin=None, clean: list[np.ndarray] | None = None) -> dict:
    """IoU of the model's cover with the known alpha (alphas given), or the share of
    face-region pixels called covered (alphas None: uncovered frames). With `skin`
    (a RegionMasker) also that share inside the face-region model's skin
    (`false_cover_skin`): the only pixels where a false cover makes a hole, since
    convert paints nowhere else; hair over the cheek is cover, and is outside it.
    With `skin` and the uncovered `clean` frames, the IoU is also given inside the skin
    of each clean frame (`iou_skin`): the landmark outline takes in hair at the temples,
    which the model rightly calls cover and the card's alpha does not hold, so there
    the outline IoU counts as error what changes nothing in convert's output."""
    template, region = region_in_crop(masker.coverage)
    inside = region > 0.5
    inter = union = called = total = 0
    called_skin = total_skin = 0
    inter_skin = union_skin = 0
    for i, (frame, lm) in enumerate(zip(frames, landmarks)):
        if lm is None:
            continue
        m = umeyama(lm, template)
        crop = cv2.warpAffine(frame, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        pred = masker.probability([crop])[0] > masker.threshold
        if alphas is None:
            called += int(pred[inside].sum())
            total += int(inside.sum())
            if skin is not None:
                on_skin = inside & (skin.probability([crop])[0] > skin.threshold)
                called_skin += int(pred[on_skin].sum())
                total_skin += int(on_skin.sum())
            continue
        truth = cv2.warpAffine(alphas[i], m, (CROP, CROP), flags=cv2.INTER_LINEAR) > 0.5
        if not truth[inside].any():
            continue
        inter += int((pred & truth & inside).sum())
        union += int(((pred | truth) & inside).sum())
        if skin is not None and clean is not None:
            uncovered = cv2.warpAffine(clean[i], m, (CROP, CROP), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE)
            on_skin = inside & (skin.probability([uncovered])[0] > skin.threshold)
            inter_skin += int((pred & truth & on_skin).sum())
            union_skin += int(((pred | truth) & on_skin).sum())
    if alphas is None:
        out = {"false_cover": called / max(total, 1)}
        if skin is not None:
            out["false_cover_skin"] = called_skin / max(total_skin, 1)
        return out
    out = {"iou": inter / max(union, 1)}
    if skin is not None and clean is not None:
        out["iou_skin"] = inter_skin / max(union_skin, 1)
    return out


def face_regions(frame_shape, landmarks: list[np.ndarray]) -> list[np.ndarray | None]:
    """Each frame's face region (H, W) bool, the "face" outline warped into the frame."""
    template, region = region_in_crop()
    out = []
    for lm in landmarks:
        if lm is None:
            out.append(None)
            continue
        m = umeyama(lm, template)
        full = np.zeros(frame_shape[:2], bool)
        h, w = frame_shape[:2]
        full[:] = warp_to_frame(region, m, (0, 0, w, h)) > 0.5
        out.append(full)
    return out


def kept_share(covered: list[np.ndarray], output: list[np.ndarray], alphas: list[np.ndarray],
               regions: list) -> tuple[float, int]:
    """(share of the occluder's pixels inside the face region that stay within codec error
    of the covered input, frames with the occluder in the face region)."""
    kept = total = frames = 0
    for x, y, a, r in zip(covered, output, alphas, regions):
        if r is None:
            continue
        sel = (a >= 0.98) & r
        if not sel.any():
            continue
        frames += 1
        diff = np.abs(x.astype(np.int16) - y.astype(np.int16)).max(-1)
        kept += int((diff[sel] <= CODEC_ERROR).sum())
        total += int(sel.sum())
    return kept / max(total, 1), frames


def uncovered_change(out_on: list[np.ndarray], out_off: list[np.ndarray], alphas, regions) -> float:
    """Mean absolute change (grey levels) inside the face region between two conversions, over
    the frames where the occluder does not touch the face."""
    diffs = [np.abs(a.astype(np.int16) - b.astype(np.int16))[r].mean()
             for a, b, al, r in zip(out_on, out_off, alphas, regions) if r is not None and not (al[r] > 0).any()]
    return float(np.mean(diffs)) if diffs else float("nan")


def identity_share(frames: list[np.ndarray], landmarks: list[np.ndarray], reference: np.ndarray) -> float:
    """Share of frames whose face (box from the landmarks) lies within dlib's threshold of `reference`."""
    from faceswap.identity import THRESHOLD, FaceEmbedder, distances

    emb = FaceEmbedder()
    d = []
    for f, lm in zip(frames, landmarks):
        if lm is None:
            continue
        c, s = lm.mean(0), 2.2 * float(np.linalg.norm(lm[1] - lm[0]))
        d.append(distances(emb.embed(f, [(c[0] - s / 2, c[1] - s / 2, c[0] + s / 2, c[1] + s / 2)]), reference)[0])
    return float((np.asarray(d) < THRESHOLD).mean())


def main() -> None:
    from faceswap.convert import convert
    from faceswap.occlusion import OCCLUDER_DIR, OcclusionMasker, load_occluder

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--model", type=Path, default=ROOT / "weights" / "demo")
    ap.add_argument("--occluder", type=Path, default=OCCLUDER_DIR)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--face", default="d6", help="the shared clip the card covers (A of --model)")
    ap.add_argument("--other", default="d10", help="a second uncovered face for the false-cover figure")
    ap.add_argument("--faces-b", type=Path, default=None,
                    help="B's faceset, for the identity figure (default: Grace Hopper's photo, weights/demo's B)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-occlusion-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    clip, faces, marks = clean_faceset(FACES / f"{args.face}.mp4", work, args.face, args.frames)
    clean = read_frames(clip)
    from faceswap.train.cover import card_clip

    covered, alphas = card_clip(clean, marks)
    covered_clip = write_clip(work / f"{args.face}_card.mp4", covered)
    covered = read_frames(covered_clip)  # what convert sees: after the codec
    truth = truth_alignments(faces, covered_clip, work / f"{args.face}_card_faces")
    clip_b, _, marks_b = clean_faceset(FACES / f"{args.other}.mp4", work, args.other, args.frames)

    net, net_cov = load_occluder(args.occluder)
    masker = OcclusionMasker(net, net_cov, CROP, DEFAULT_COVERAGE, torch.device("cpu"))
    from faceswap.face_region import has_region_model, make_region_masker

    skin = make_region_masker(None, CROP, DEFAULT_COVERAGE, torch.device("cpu")) if has_region_model() else None
    quality = mask_quality(masker, covered, marks, alphas, skin, clean)
    false_a = mask_quality(masker, clean, marks, None, skin)
    false_b = mask_quality(masker, read_frames(clip_b), marks_b, None, skin)

    outs = {}
    for on in (True, False):
        out = work / f"out_{'on' if on else 'off'}.mp4"
        s = convert(covered_clip, args.model, out, alignments=truth, occlusion=on, occluder=args.occluder, force=True, progress=False)
        outs[on] = (read_frames(out), s)
    regions = face_regions(covered[0].shape, marks)
    kept_on, n_cov = kept_share(covered, outs[True][0], alphas, regions)
    kept_off, _ = kept_share(covered, outs[False][0], alphas, regions)
    change = uncovered_change(outs[True][0], outs[False][0], alphas, regions)
    print(f"material: {args.face}, {args.frames} frames, the held-out card over the face region in {n_cov} of them")
    print(f"mask IoU against the card's alpha: {quality['iou']:.3f} in the landmark face outline"
          + (f", {quality['iou_skin']:.3f} inside the face region (where convert paints)" if skin is not None else ""))
    print(f"false cover on uncovered faces (landmark face outline): {args.face} {100 * false_a['false_cover']:.2f} %, "
          f"{args.other} {100 * false_b['false_cover']:.2f} %")
    if skin is not None:
        print("false cover inside the face region (where convert paints): "
              f"{args.face} {100 * false_a['false_cover_skin']:.2f} %, {args.other} {100 * false_b['false_cover_skin']:.2f} %")
    print(f"card pixels kept within {CODEC_ERROR} grey levels: {100 * kept_on:.1f} % with occlusion, "
          f"{100 * kept_off:.1f} % without")
    print(f"uncovered frames, occlusion against none: mean change {change:.2f} grey levels in the face region")
    print(f"convert fps: {outs[True][1].fps:.1f} with occlusion, {outs[False][1].fps:.1f} without")
    from faceswap import identity

    if identity.available():
        if args.faces_b is not None:
            from faceswap.extract.faceset import faceset_reference

            ref, who = faceset_reference(args.faces_b), f"B's faceset {args.faces_b}"
        else:
            import matplotlib

            from faceswap.extract.like import reference_from_photos

            ref = reference_from_photos([Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"])
            who = "Grace Hopper, weights/demo's B"
        print(f"identity (share of frames within 0.6 of {who}): "
              f"{100 * identity_share(outs[True][0], marks, ref):.0f} % with occlusion, "
              f"{100 * identity_share(outs[False][0], marks, ref):.0f} % without")
    print(f"({time.perf_counter() - t0:.0f} s; work in {work})")


if __name__ == "__main__":
    main()
