"""Check a converted video against its source: the output contract, measured.

    python scripts/verify_output.py SOURCE.mp4 SWAPPED.mp4 [--alignments faces/alignments.json]

Prints frame count, fps, size and duration of both, whether the audio packets
are byte-identical, the synthetic-media tags, and how far pixels outside the
face regions moved (codec error only, if convert kept them): mean, 99th
percentile and max absolute difference over all frames, on 0-255. The face
region of a frame is its alignment crop's footprint grown by 10 %, from the
alignments file when given, else from MTCNN boxes grown to twice their size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faceswap.video import FrameReader, probe  # noqa: E402


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def face_footprint(shape, faces) -> np.ndarray:
    """Boolean mask of where convert may have painted, from alignment entries."""
    h, w = shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for face in faces:
        m = np.asarray(face["matrix"], np.float64)
        size = face.get("_size", 256)
        inv = cv2.invertAffineTransform(m)
        c = size / 2
        corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
        corners = c + (corners - c) * 1.1  # grow by 10 %
        pts = corners @ inv[:, :2].T + inv[:, 2]
        cv2.fillConvexPoly(mask, pts.astype(np.int32), 1)
    return mask.astype(bool)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("swapped", type=Path)
    ap.add_argument("--alignments", type=Path)
    args = ap.parse_args()
    src, out = probe(args.source), probe(args.swapped)
    align = json.loads(args.alignments.read_text()) if args.alignments else None
    detector = None
    if align is None:
        from faceswap.extract.detect import Detector

        detector = Detector()
    diffs = []
    n = 0
    for fa, fb in zip(FrameReader(args.source), FrameReader(args.swapped)):
        n += 1
        if align is not None:
            faces = [dict(f, _size=align["size"]) for f in align["frames"].get(str(fa.index), [])]
            region = face_footprint(fa.image.shape, faces)
        else:
            found = detector.detect([fa.image])[0]
            region = np.zeros(fa.image.shape[:2], bool)
            for x1, y1, x2, y2 in found.boxes:
                cx, cy, s = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)
                region[max(0, int(cy - s)):int(cy + s), max(0, int(cx - s)):int(cx + s)] = True
        d = np.abs(fa.image.astype(np.int16) - fb.image).max(axis=2)[~region]
        diffs.append(np.bincount(d.ravel(), minlength=256)[:256])
    hist = np.sum(diffs, axis=0)
    cdf = np.cumsum(hist) / hist.sum()
    mean = float((hist * np.arange(256)).sum() / hist.sum())
    with av.open(str(args.swapped)) as c:
        tags = {k: v for k, v in c.metadata.items() if k in ("comment", "synthetic_media", "generator")}
    audio_src, audio_out = audio_packets(args.source), audio_packets(args.swapped)
    print(f"source : {src.frame_count} frames, {src.fps:g} fps, {src.width}x{src.height}, {src.duration:.3f} s, audio {src.has_audio}")
    print(f"swapped: {out.frame_count} frames, {out.fps:g} fps, {out.width}x{out.height}, {out.duration:.3f} s, audio {out.has_audio}")
    print(f"frames decoded and compared: {n}")
    print(f"audio packets identical: {audio_src == audio_out} ({len(audio_src)} packets)")
    print(f"tags: {tags}")
    print(f"outside the face regions: mean abs diff {mean:.3f}, p99 {int(np.searchsorted(cdf, 0.99))}, "
          f"max {int(np.nonzero(hist)[0].max())} (0-255)")


if __name__ == "__main__":
    main()
