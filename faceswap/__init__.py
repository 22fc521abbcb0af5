"""faceswap: a face-swap application and the autoencoder library beneath it.

Stages (each also a CLI command of the same name):
    extract  video/images -> faceset (aligned crops + alignments.json)
    train    two facesets -> model directory (shared encoder, one decoder each)
    convert  video of A + model -> video with B's face, A's audio, labelled synthetic

Importing this package loads no model and has no side effects.
"""

from faceswap.errors import FaceswapError

__version__ = "0.1.0"

__all__ = ["FaceswapError", "__version__"]
