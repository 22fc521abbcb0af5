"""faceswap extract: detect, align and crop faces from videos and images into a faceset.

    from faceswap.extract import extract
    summary = extract("a.mp4", "faces/a")      # aligned PNGs + alignments.json

Parts: detect (MTCNN), track (follow faces between key frames), align
(Umeyama to a five-point template), faceset (alignments.json, load_faceset),
pipeline (the `extract` function).
"""

from faceswap.extract.pipeline import ExtractSummary, extract

__all__ = ["extract", "ExtractSummary"]
