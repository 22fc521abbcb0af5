"""Faceset curation: `faceswap sort` and `faceswap clean`.

A faceset cut from real footage holds some faces a model should not learn
from: another person who walked into the frame, motion blur, a false or
badly placed detection, the same frame twice. `clean` measures every face
and moves such outliers into `FACESET/rejected/`; `sort` orders (and
optionally renames) the faces by one measure so that a person can look
through them in a file browser.

Measures (all on the aligned crops, so any faceset can be cleaned):

- identity: the faces' dlib embeddings split into the majority person and
  minority groups of other people (`identity_distances`); the value shown is
  the distance to the majority's mean embedding.
- blur: variance of the Laplacian of the central face region at a fixed
  128 px analysis scale (crop size does not change it); under 1/5 of the
  faceset's median: blurry.
- alignment: how far the five landmarks sit from the template after the
  similarity fit (a residual the fit cannot remove: a face that is not one,
  landmarks on the wrong features), as a fraction of the crop side; over
  0.07 (a clean frontal clip sits at ~0.01-0.02): badly aligned.
- occluded: the share of the tight face square that the occlusion model
  (faceswap.occlusion, when weights/occluder is installed) calls covered; over
  0.25: a hand, a microphone or hair hides too much of the face, and a model
  trained on it learns to paint the cover.
- duplicates: a 32 px grey thumbnail within 0.2 grey levels (mean absolute
  difference) of an earlier kept face: the same picture again (a frozen
  video, copied files); consecutive frames of a still 720p shot differ by
  0.3 and more.

Moved faces leave `alignments.json` (a rejected face is never trained on nor
swapped through `--alignments`); their entries and reasons are kept in
`rejected/rejected.json`, so `clean --undo` moves every file back and restores
its entry (files moved back by hand are restored too).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceswap import identity
from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE, template_points
from faceswap.extract.faceset import ALIGNMENTS_NAME, Alignments, landmarks_in_crop
from faceswap.fileio import IMAGE_EXTS, read_json, write_json_atomic
from faceswap.identity import THRESHOLD
from faceswap.occlusion import covered_shares, has_occluder

REJECTED = "rejected"
MANIFEST = "rejected.json"
SORT_KEYS = ("identity", "blur", "yaw", "size")
BLUR_FRACTION = 0.2
ALIGN_LIMIT = 0.07
DUPLICATE_LEVELS = 0.2
SPLIT = 0.45
OCCLUDED_LIMIT = 0.25


@dataclass
class Face:
    """One face of a faceset: its file, frame and alignments entry (None in a plain folder)."""

    file: str
    frame: int | None = None
    entry: dict | None = None


@dataclass
class CleanReport:
    """What `clean` moved (file, reason, value) and how many faces it looked at."""

    folder: Path
    faces: int
    moved: list[tuple[str, str, float]] = field(default_factory=list)

    def table(self) -> str:
        if not self.moved:
            return f"clean: {self.folder}: all {self.faces} faces kept"
        width = max(len(f) for f, _, _ in self.moved)
        lines = [f"{'file':<{width}}  reason      value", *(f"{f:<{width}}  {r:<10}  {v:.3f}" for f, r, v in self.moved)]
        counts = {r: sum(1 for _, x, _ in self.moved if x == r) for r in dict.fromkeys(x for _, x, _ in self.moved)}
        lines.append(f"clean: moved {len(self.moved)} of {self.faces} faces into {self.folder / REJECTED} ("
                     + ", ".join(f"{n} {r}" for r, n in counts.items())
                     + f"); undo with `faceswap clean {self.folder} --undo`")
        return "\n".join(lines)


def _faces(folder: Path):
    """(alignments or None, [Face]) of a faceset folder; rejected faces are not in it."""
    if not folder.is_dir():
        raise FaceswapError(f"{folder}: faceset folder not found; run `faceswap extract VIDEO -o {folder}` first")
    if (folder / ALIGNMENTS_NAME).is_file():
        al = Alignments.load(folder / ALIGNMENTS_NAME)
        if al.extra.get("complete") is False:
            raise FaceswapError(f"{folder}: faceset is unfinished; re-run `faceswap extract {al.source} -o {folder}` first")
        faces = [Face(e["file"], k, e) for k, e in al.faces() if (folder / e["file"]).is_file()]
    else:
        al = None
        faces = [Face(p.name) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_EXTS]
    if not faces:
        raise FaceswapError(f"{folder}: faceset holds no face images")
    return al, faces


def _image(folder: Path, face: Face) -> np.ndarray:
    image = cv2.imread(str(folder / face.file), cv2.IMREAD_COLOR)
    if image is None:
        raise FaceswapError(f"{folder / face.file}: not a readable image; move it out of the faceset")
    return np.ascontiguousarray(image[:, :, ::-1])


def _coverage(al) -> float:
    return float(al.coverage) if al is not None and al.coverage else DEFAULT_COVERAGE


def _blur(image: np.ndarray, coverage: float) -> float:
    """Laplacian variance of the central (tight) face region at 128 px."""
    s = image.shape[0]
    m = int(round(s * (1 - min(coverage, 1.0)) / 2))
    face = cv2.resize(image[m:s - m, m:s - m], (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def _landmarks(face: Face, size: int) -> np.ndarray | None:
    if face.entry is None or "matrix" not in face.entry:
        return None
    return landmarks_in_crop(face.entry) / float(size)


def _align_error(face: Face, al) -> float:
    lm = _landmarks(face, al.size) if al is not None else None
    if lm is None:
        return 0.0
    return float(np.linalg.norm(lm - template_points(1, _coverage(al)), axis=1).mean())


def _yaw(face: Face, al) -> float:
    """Nose offset from the eye-mouth midline over the eye distance (aligned crop): < 0 turned to image left."""
    lm = _landmarks(face, al.size) if al is not None else None
    if lm is None:
        raise FaceswapError("sort --by yaw needs the faceset's alignments.json (landmarks); use identity, blur or size")
    mid = lm[[0, 1, 3, 4], 0].mean()
    return float((lm[2, 0] - mid) / max(abs(lm[1, 0] - lm[0, 0]), 1e-6))


def _size(face: Face, folder: Path) -> float:
    if face.entry is not None and "box" in face.entry:
        x1, y1, x2, y2 = face.entry["box"]
        return float((x2 - x1 + y2 - y1) / 2)
    raise FaceswapError(f"{folder}: sort --by size needs the faceset's alignments.json (face boxes); "
                        f"use identity or blur")


def _two_means(emb: np.ndarray) -> tuple[np.ndarray, float]:
    """Split embeddings in two (k-means from the median and the face farthest
    from it); returns (labels, 1 = the smaller group; distance between the centroids)."""
    med = np.median(emb, 0)
    centres = np.stack([med, emb[np.linalg.norm(emb - med, axis=1).argmax()]])
    for _ in range(20):
        labels = np.linalg.norm(emb[:, None] - centres[None], axis=2).argmin(1)
        centres = np.stack([emb[labels == j].mean(0) if (labels == j).any() else centres[j] for j in (0, 1)])
    if (labels == 1).sum() > (labels == 0).sum():
        labels = 1 - labels
    return labels, float(np.linalg.norm(centres[0] - centres[1]))


def identity_distances(folder: Path, faces: list[Face], al, threshold: float, embedder=None) -> tuple[np.ndarray, np.ndarray]:
    """(distance (N,) of each face to the majority person, other (N,) bool: another person).

    Two people who look alike sit ~0.6 apart in dlib's space, and a face's
    distance to the mean of its own person is smaller than to another face of
    them, so a fixed threshold on the distance to the faceset's mean cannot
    tell them apart. Instead the faces are split in two (k-means) while the
    two groups' centres lie over SPLIT apart (measured on the shared clips:
    one person 0.16-0.35, two people 0.51-0.63), the smaller group being
    another person each time; then any face over `threshold` from the
    majority's mean is another person too.
    """
    identity.require("sorting or cleaning by identity")
    embedder = embedder or identity.FaceEmbedder()
    cov = _coverage(al)
    emb = np.stack([embedder.embed_crops(_image(folder, f)[None], cov)[0] for f in faces])
    other = np.zeros(len(emb), bool)
    for _ in range(3):  # up to three other people
        keep = np.flatnonzero(~other)
        if len(keep) < 4:
            break
        labels, apart = _two_means(emb[keep])
        if apart <= SPLIT:
            break
        other[keep[labels == 1]] = True
    d = identity.distances(emb, emb[~other].mean(0))
    return d, other | (d > threshold)


def sort_faceset(folder: str | os.PathLike, by: str = "identity", rename: bool = False) -> list[tuple[str, float]]:
    """Faces of `folder` ordered by `by` (identity: most like the majority first;
    blur: sharpest first; yaw: turned to image left ... right; size: largest
    first), as [(file, value)]. rename: prefix each file with its rank
    (`00000_<name>`; an earlier rank prefix is replaced) and update alignments.json."""
    folder = Path(folder)
    if by not in SORT_KEYS:
        raise FaceswapError(f"--by {by}: use one of {', '.join(SORT_KEYS)}")
    al, faces = _faces(folder)
    if by == "identity":
        values, order = identity_distances(folder, faces, al, THRESHOLD)[0], 1
    elif by == "blur":
        values, order = np.array([_blur(_image(folder, f), _coverage(al)) for f in faces]), -1
    elif by == "yaw":
        values, order = np.array([_yaw(f, al) for f in faces]), 1
    else:
        values, order = np.array([_size(f, folder) for f in faces]), -1
    pairs = [(faces[i], float(values[i])) for i in np.argsort(order * values, kind="stable")]
    if rename:
        _rename(folder, al, [f for f, _ in pairs])
    return [(f.file, v) for f, v in pairs]


def _rename(folder: Path, al, ranked: list[Face]) -> None:
    """Rank-prefixed names, through temporary names so no two files collide."""
    prefixed = all(re.match(r"^\d{5}_.", f.file) for f in ranked)
    temps = []
    for i, face in enumerate(ranked):
        base = face.file[6:] if prefixed else face.file
        tmp = folder / f".sorting-{i}{Path(face.file).suffix}"
        os.replace(folder / face.file, tmp)
        temps.append((face, tmp, f"{i:05d}_{base}"))
    for face, tmp, new in temps:
        os.replace(tmp, folder / new)
        face.file = new
        if face.entry is not None:
            face.entry["file"] = new
    if al is not None:
        al.save(folder / ALIGNMENTS_NAME)


def _thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def clean_faceset(folder: str | os.PathLike, *, identity: bool = True, blur: bool = True, alignment: bool = True,
                  occluded: bool = True, duplicates: bool = True, threshold: float = 0.6,
                  dry_run: bool = False) -> CleanReport:
    """Move the outliers of `folder` into `folder/rejected/` (see the module
    docstring for the measures); dry_run only reports. One reason per face,
    the first of: identity, alignment, blur, occluded, duplicate. `occluded`
    is measured only when the occlusion model is installed."""
    folder = Path(folder)
    al, faces = _faces(folder)
    if (folder / REJECTED).exists() and not (folder / REJECTED).is_dir():
        raise FaceswapError(f"{folder / REJECTED}: exists and is not a folder; move it away first")
    cov = _coverage(al)
    images = [_image(folder, f) for f in faces]
    reasons: dict[int, tuple[str, float]] = {}
    if identity:
        d, other = identity_distances(folder, faces, al, threshold)
        for i in np.flatnonzero(other):
            reasons.setdefault(int(i), ("identity", float(d[i])))
    if alignment:
        for i, f in enumerate(faces):
            err = _align_error(f, al)
            if err > ALIGN_LIMIT:
                reasons.setdefault(i, ("alignment", err))
    if blur:
        scores = np.array([_blur(im, cov) for im in images])
        floor = BLUR_FRACTION * float(np.median(scores))
        for i in np.flatnonzero(scores < floor):
            reasons.setdefault(int(i), ("blur", float(scores[i] / max(np.median(scores), 1e-9))))
    if occluded and has_occluder():
        shares = covered_shares(images, cov)
        for i in np.flatnonzero(shares > OCCLUDED_LIMIT):
            reasons.setdefault(int(i), ("occluded", float(shares[i])))
    if duplicates:
        kept: list[np.ndarray] = []
        for i, im in enumerate(images):
            if i in reasons:
                continue
            t = _thumb(im)
            if kept:
                diff = np.abs(np.stack(kept) - t).mean((1, 2))
                if diff.min() < DUPLICATE_LEVELS:
                    reasons[i] = ("duplicate", float(diff.min()))
                    continue
            kept.append(t)
    report = CleanReport(folder, len(faces), [(faces[i].file, *reasons[i]) for i in sorted(reasons)])
    if dry_run or not reasons:
        return report
    _move_out(folder, al, [(faces[i], reasons[i][0]) for i in sorted(reasons)])
    return report


def _manifest(folder: Path) -> list[dict]:
    path = folder / REJECTED / MANIFEST
    return list(read_json(path, "rejected list")) if path.is_file() else []


def _move_out(folder: Path, al, moved: list[tuple[Face, str]]) -> None:
    """Files into rejected/, their entries out of alignments.json and into rejected/rejected.json."""
    (folder / REJECTED).mkdir(exist_ok=True)
    records = _manifest(folder)
    for face, reason in moved:
        records.append({"file": face.file, "frame": face.frame, "reason": reason, "entry": face.entry})
    write_json_atomic(folder / REJECTED / MANIFEST, records)  # first: a crash below loses no entry
    for face, _ in moved:
        os.replace(folder / face.file, folder / REJECTED / face.file)
        if al is not None:
            al.frames[face.frame] = [e for e in al.frames[face.frame] if e is not face.entry]
    if al is not None:
        al.save(folder / ALIGNMENTS_NAME)


def undo_clean(folder: str | os.PathLike) -> int:
    """Move every rejected face back (files already moved back by hand too) and
    restore its alignments entry; returns how many faces came back."""
    folder = Path(folder)
    records = _manifest(folder)
    if not records:
        raise FaceswapError(f"{folder}: nothing to undo (no {REJECTED}/{MANIFEST}); `faceswap clean` has not moved faces here")
    al = Alignments.load(folder / ALIGNMENTS_NAME) if (folder / ALIGNMENTS_NAME).is_file() else None
    back = 0
    for r in records:
        src = folder / REJECTED / r["file"]
        if src.is_file():
            os.replace(src, folder / r["file"])
        if not (folder / r["file"]).is_file():
            continue  # deleted by the user: its entry stays out
        back += 1
        if al is not None and r.get("entry") is not None:
            entries = al.frames.setdefault(int(r["frame"]), [])
            if all(e.get("file") != r["file"] for e in entries):
                entries.append(r["entry"])
                entries.sort(key=lambda e: e.get("file", ""))
    if al is not None:
        al.save(folder / ALIGNMENTS_NAME)
    (folder / REJECTED / MANIFEST).unlink()
    if not any((folder / REJECTED).iterdir()):
        shutil.rmtree(folder / REJECTED)
    return back
