"""faceswap.convert: swap the faces of a video (or images) with a trained model.

    from faceswap.convert import convert
    summary = convert("a.mp4", "models/a2b", "a_as_b.mp4")

Pieces: masks (where the new face goes), color (matching the old face's
colours), blend (warping back and blending), smoothing (steady alignment over
time), pipeline (convert(): the threaded read -> locate -> swap -> blend ->
write pipeline).
"""

from faceswap.convert.pipeline import ConvertSummary, convert

__all__ = ["convert", "ConvertSummary"]
