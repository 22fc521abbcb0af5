"""Who is this face? 128-d identity embeddings from dlib's face-recognition ResNet.

dlib's ResNet descriptor (King 2017, a ResNet-34 variant trained with a metric
loss; 99.38 % on LFW) maps a face to a 128-d vector in which two photos of the
same person lie closer than 0.6 (Euclidean), the threshold dlib documents.
It runs offline on the CPU: `dlib-bin` is a prebuilt wheel and
`face-recognition-models` ships the weights. Only its 5-point landmark model
(which places the face for the ResNet) and the ResNet itself are used; the
68-point model's training data forbids commercial use.

This module belongs to no pipeline: evaluate, extract and convert all ask it,
and it imports none of them; what needs a faceset or a detector lives with the
stage that owns those (`faceswap.extract.faceset.faceset_reference`,
`faceswap.extract.like.reference_from_photos`). Everything here is
optional (the `identity` extra); `available()` says whether it can run and
`require()` raises the one-line install hint when it cannot.

    faces: RGB uint8 images (H, W, 3) with boxes (x1, y1, x2, y2) in pixels
    embeddings: (N, 128) float32
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from faceswap.errors import FaceswapError

THRESHOLD = 0.6  # dlib's documented same-person distance
INSTALL_HINT = 'pip install "faceswap[identity]" (dlib-bin and face-recognition-models)'

_LANDMARKS = "shape_predictor_5_face_landmarks.dat"
_RESNET = "dlib_face_recognition_resnet_model_v1.dat"


def _models_dir() -> Path | None:
    # The package's __init__ imports pkg_resources (gone from setuptools >= 81),
    # so find its folder without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    return folder if (folder / _RESNET).is_file() and (folder / _LANDMARKS).is_file() else None


def available() -> bool:
    """True when dlib and the model files are installed."""
    return importlib.util.find_spec("dlib") is not None and _models_dir() is not None


def require(what: str = "identity") -> None:
    """Raise a one-line FaceswapError with the install command when unavailable."""
    if not available():
        raise FaceswapError(f"{what} needs the face-recognition model; install it with {INSTALL_HINT}")


class FaceEmbedder:
    """Embeds faces given their boxes; loads dlib's models once (thread-safe lazy load).

    jitter: dlib's test-time augmentation count (0 = one pass; each extra
    jitter adds a pass, for ~1 % better accuracy).
    """

    _lock = threading.Lock()
    _shared: tuple | None = None

    def __init__(self, jitter: int = 0):
        require()
        self.jitter = int(jitter)
        with FaceEmbedder._lock:
            if FaceEmbedder._shared is None:
                import dlib  # the optional identity extra: only when an embedder is built

                folder = _models_dir()
                FaceEmbedder._shared = (dlib, dlib.shape_predictor(str(folder / _LANDMARKS)),
                                        dlib.face_recognition_model_v1(str(folder / _RESNET)))
        self._dlib, self._shape, self._net = FaceEmbedder._shared

    def embed(self, image: np.ndarray, boxes) -> np.ndarray:
        """Embeddings (K, 128) of the faces in `boxes` (K, 4) of one RGB image."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if not len(boxes):
            return np.zeros((0, 128), np.float32)
        h, w = image.shape[:2]
        shapes = self._dlib.full_object_detections()
        for x1, y1, x2, y2 in boxes:
            rect = self._dlib.rectangle(int(max(x1, 0)), int(max(y1, 0)), int(min(x2, w - 1)), int(min(y2, h - 1)))
            shapes.append(self._shape(image, rect))
        out = self._net.compute_face_descriptor(image, shapes, self.jitter)
        return np.asarray([np.asarray(d) for d in out], np.float32)

    def embed_crops(self, crops, coverage: float) -> np.ndarray:
        """Embeddings (N, 128) of aligned face crops (N, S, S, 3) made with `coverage`:
        the tight face is the central `coverage` of the crop side."""
        vectors = []
        for crop in crops:
            s = crop.shape[0]
            m = s * (1 - min(float(coverage), 1.0)) / 2
            vectors.append(self.embed(crop, [(m, m, s - m, s - m)])[0])
        return np.stack(vectors) if vectors else np.zeros((0, 128), np.float32)


def distances(embeddings: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Euclidean distance of each embedding (N, 128) to `reference` (128,)."""
    return np.linalg.norm(np.asarray(embeddings, np.float32) - np.asarray(reference, np.float32)[None], axis=1)
