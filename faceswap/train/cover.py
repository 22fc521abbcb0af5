"""Synthetic cover over real aligned faces: training data for the occlusion model.

Nobody has drawn masks of what covers the faces in our clips, so the cover is
made: an occluder with a known alpha is pasted over a real aligned face, and
the alpha is the target. Following Voo, Jiang & Loy (CVPRW 2022), who trained
face-occlusion segmenters this way (random textured shapes, "RandOcc", and
naturalistic objects, "NatOcc") and found they hold on real occlusions, the
kinds here are:

    "shape"  random polygons and ellipses filled with natural textures (photos
             that ship in the scikit-image, scikit-learn and matplotlib wheels)
    "hand"   a palm with fingers, in skin cut from other people's faces, shaded
             towards its edge, reaching in from the crop border
    "lines"  thin lines and rims: glasses frames round the eyes, strands, cables,
             sticks (a pen, a microphone's shaft)

then random blur at the edge (motion and defocus), light on the occluder, its
shadow on the face (the shadow is face, not cover) and light, noise and JPEG
over the whole crop. A share of the samples has no cover at all, so that eyes,
teeth, open mouths and beards learn to read as face.

Kept out on purpose, for the tests to measure generalisation on: the
"card" kind (rounded rectangles) and the `coffee` photo as texture
(`HELD_OUT_TEXTURES`). Nothing here draws either.

Faces: (N, S, S, 3) uint8 RGB crops aligned to the template at `coverage`
(a faceset's crops). ``CoverSynth.batch`` returns x (B, 3, r, r) float in [0, 1]
and target (B, 1, r, r), the cover's alpha at the model's resolution r.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import torch

from faceswap.extract.align import DEFAULT_COVERAGE, template_points

KINDS = ("shape", "hand", "lines")
HELD_OUT_KINDS = ("card",)
HELD_OUT_TEXTURES = ("coffee",)
_SKIMAGE = ("brick", "camera", "chelsea", "clock", "coins", "colorwheel", "grass", "gravel", "hubble_deep_field",
            "immunohistochemistry", "moon", "page", "rocket", "text", "retina")


@lru_cache(maxsize=1)
def _wheel_textures() -> tuple[np.ndarray, ...]:
    """Natural photos (RGB uint8, at most 400 px) from wheels already installed (no download)."""
    import os

    import matplotlib
    import skimage.data
    from sklearn.datasets import load_sample_images

    images = []
    for name in _SKIMAGE:
        im = np.asarray(getattr(skimage.data, name)())
        images.append(np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im[..., :3])
    images += list(load_sample_images().images)
    png = os.path.join(matplotlib.get_data_path(), "sample_data", "Minduka_Present_Blue_Pack.png")
    im = cv2.imread(png, cv2.IMREAD_COLOR)
    if im is not None:
        images.append(im[:, :, ::-1])
    out = []
    for im in images:
        f = 400 / max(im.shape[:2])
        if f < 1:
            im = cv2.resize(im, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(im.astype(np.uint8)))
    return tuple(out)


def texture_patch(rng: np.random.Generator, size: int, images=None) -> np.ndarray:
    """A (size, size, 3) uint8 patch of a random photo: random crop, scale, rotation and tint."""
    images = images or _wheel_textures()
    im = images[rng.integers(len(images))]
    scale = rng.uniform(0.5, 2.0)
    src = max(8, min(int(size / scale), min(im.shape[:2]) - 1))
    y, x = rng.integers(0, im.shape[0] - src + 1), rng.integers(0, im.shape[1] - src + 1)
    patch = cv2.resize(im[y:y + src, x:x + src], (size, size), interpolation=cv2.INTER_LINEAR)
    k = int(rng.integers(4))
    patch = np.rot90(patch, k).astype(np.float32)
    if rng.random() < 0.5:  # tint (grey photos become coloured)
        patch = patch * rng.uniform(0.5, 1.3, 3).astype(np.float32)
    return np.clip(patch, 0, 255).astype(np.uint8)


def skin_patch(rng: np.random.Generator, faces: np.ndarray, size: int, coverage: float) -> np.ndarray:
    """(size, size, 3) uint8 skin from a random face of `faces`: a square between the eyes
    and the mouth (nose and cheeks) at `coverage`, enlarged and mirrored to fill."""
    face = faces[rng.integers(len(faces))]
    s = face.shape[0]
    pts = template_points(s, coverage)
    cx, cy = pts[2] + rng.normal(0, 0.02 * s, 2)
    half = 0.11 * s * coverage / DEFAULT_COVERAGE
    x0, y0 = int(max(cx - half, 0)), int(max(cy - half, 0))
    patch = face[y0:y0 + int(2 * half), x0:x0 + int(2 * half)]
    patch = np.concatenate([patch, patch[:, ::-1]], 1)
    patch = np.concatenate([patch, patch[::-1]], 0)
    patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    patch = cv2.GaussianBlur(patch, (0, 0), size / 60)  # pores of a cheek are not a hand's
    patch *= rng.uniform(0.75, 1.2) * rng.uniform(0.92, 1.08, 3).astype(np.float32)
    return np.clip(patch, 0, 255).astype(np.uint8)


# ---- shapes: each returns a (S, S) uint8 alpha (0/255) drawn at 4x sub-pixel precision -----------------
def _fill(size: int, polys: list[np.ndarray]) -> np.ndarray:
    a = np.zeros((size, size), np.uint8)
    cv2.fillPoly(a, [np.round(p * 16).astype(np.int32) for p in polys], 255, cv2.LINE_AA, shift=4)
    return a


def random_shape(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random polygon (3-10 vertices, star-like or convex) or an ellipse, 15-60 % of the crop."""
    c = rng.uniform(0.1, 0.9, 2) * size
    r = rng.uniform(0.08, 0.3) * size
    if rng.random() < 0.35:
        a = np.zeros((size, size), np.uint8)
        axes = (int(r * 16), int(r * rng.uniform(0.3, 1.0) * 16))
        cv2.ellipse(a, (int(c[0] * 16), int(c[1] * 16)), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1,
                    cv2.LINE_AA, shift=4)
        return a
    n = int(rng.integers(3, 11))
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r * (rng.uniform(0.4, 1.0, n) if rng.random() < 0.5 else rng.uniform(0.85, 1.0, n))
    return _fill(size, [c + np.stack([np.cos(t), np.sin(t)], 1) * rad[:, None]])


def _capsule(a: np.ndarray, p: np.ndarray, q: np.ndarray, width: float) -> None:
    cv2.line(a, tuple(np.round(p * 16).astype(int)), tuple(np.round(q * 16).astype(int)), 255,
             max(1, int(round(width))), cv2.LINE_AA, shift=4)


def hand_shape(rng: np.random.Generator, size: int) -> np.ndarray:
    """A palm (ellipse) from outside the crop border with 2-5 fingers reaching into the face."""
    side = rng.integers(4)
    t = rng.uniform(0.15, 0.85) * size
    out = rng.uniform(0.0, 0.25) * size
    base = [np.array([t, size + out]), np.array([-out, t]), np.array([size + out, t]), np.array([t, -out])][side]
    centre = np.array([size / 2, size * 0.55]) + rng.normal(0, 0.15 * size, 2)
    direction = (centre - base) / (np.linalg.norm(centre - base) + 1e-6)
    reach = rng.uniform(0.35, 0.85) * size
    palm_r = rng.uniform(0.12, 0.2) * size
    palm = base + direction * reach * 0.45
    a = np.zeros((size, size), np.uint8)
    angle = float(np.degrees(np.arctan2(direction[1], direction[0])))
    cv2.ellipse(a, tuple(np.round(palm * 16).astype(int)), (int(palm_r * 1.4 * 16), int(palm_r * 16)), angle, 0, 360,
                255, -1, cv2.LINE_AA, shift=4)
    _capsule(a, base, palm, palm_r * 1.5)  # the wrist
    normal = np.array([-direction[1], direction[0]])
    n = int(rng.integers(2, 6))
    width = palm_r * rng.uniform(0.35, 0.5)
    spread = rng.uniform(-0.3, 0.3)
    for i in range(n):
        off = (i - (n - 1) / 2) * width * 1.05
        root = palm + normal * off + direction * palm_r * 0.6
        d = direction + normal * (spread + 0.08 * (i - (n - 1) / 2))
        d /= np.linalg.norm(d)
        length = palm_r * rng.uniform(0.6, 1.9)
        mid = root + d * length * 0.5
        bend = normal * rng.normal(0, 0.15) * length
        _capsule(a, root, mid, width)
        _capsule(a, mid, mid + (d * length * 0.5 + bend), width * 0.9)
    return a


def line_shape(rng: np.random.Generator, size: int, coverage: float) -> np.ndarray:
    """Glasses frames round the template's eyes, or thin strands, cables and sticks."""
    a = np.zeros((size, size), np.uint8)
    pts = template_points(size, coverage) + rng.normal(0, 0.015 * size, (5, 2))
    if rng.random() < 0.45:
        eye_d = np.linalg.norm(pts[1] - pts[0])
        w = max(1, int(round(rng.uniform(0.008, 0.04) * size)))
        # lenses are larger than the eye and its make-up: a rim never hugs the eyelid
        rx, ry = eye_d * rng.uniform(0.45, 0.6), eye_d * rng.uniform(0.33, 0.45)
        for e in (pts[0], pts[1]):
            c = e + np.array([0, rng.uniform(-0.05, 0.1) * eye_d])
            if rng.random() < 0.5:
                cv2.ellipse(a, tuple(np.round(c * 16).astype(int)), (int(rx * 16), int(ry * 16)), 0, 0, 360, 255, w,
                            cv2.LINE_AA, shift=4)
            else:
                box = np.array([[-rx, -ry], [rx, -ry], [rx * 0.9, ry], [-rx * 0.9, ry]]) + c
                cv2.polylines(a, [np.round(box * 16).astype(np.int32)], True, 255, w, cv2.LINE_AA, shift=4)
        _capsule(a, pts[0] + [rx, -ry * 0.3], pts[1] + [-rx, -ry * 0.3], w)  # bridge
        _capsule(a, pts[0] - [rx, ry * 0.3], pts[0] - [2.2 * rx, ry * 0.5], w)  # temples
        _capsule(a, pts[1] + [rx, -ry * 0.3], pts[1] + [2.2 * rx, -ry * 0.5], w)
        return a
    for _ in range(int(rng.integers(1, 4))):
        p = rng.uniform(-0.1, 1.1, 2) * size
        q = rng.uniform(-0.1, 1.1, 2) * size
        w = rng.uniform(0.01, 0.03) * size if rng.random() < 0.6 else rng.uniform(0.04, 0.12) * size
        m = (p + q) / 2 + rng.normal(0, 0.1 * size, 2)  # a gentle curve through a bent midpoint
        curve = [(1 - s) ** 2 * p + 2 * (1 - s) * s * m + s ** 2 * q for s in np.linspace(0, 1, 12)]
        for u, v in zip(curve[:-1], curve[1:]):
            _capsule(a, u, v, w)
    return a


# ---- compositing ----------------------------------------------------------------------------------------
def _soften(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur an occluder's edge: defocus (Gaussian) or motion (a line kernel)."""
    a = alpha.astype(np.float32) / 255
    r = rng.random()
    if r < 0.35:
        a = cv2.GaussianBlur(a, (0, 0), rng.uniform(0.5, 2.5))
    elif r < 0.55:
        n = int(rng.integers(3, 12))
        k = np.zeros((n, n), np.float32)
        k[n // 2] = 1
        k = cv2.warpAffine(k, cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)), 1), (n, n))
        a = cv2.filter2D(a, -1, k / max(k.sum(), 1e-6))
    return np.clip(a, 0, 1)


def composite(face: np.ndarray, alpha: np.ndarray, texture: np.ndarray, rng: np.random.Generator,
              shadow: bool = True) -> np.ndarray:
    """face * (1 - a) + occluder * a, with light on the occluder (a gradient and shading
    towards its edge) and, optionally, a soft shadow it casts on the face.
    face, texture: (S, S, 3) uint8; alpha: (S, S) float in [0, 1]. Returns uint8."""
    s = face.shape[0]
    img = face.astype(np.float32)
    if shadow and rng.random() < 0.5:
        shift = rng.normal(0, 0.04 * s, 2)
        sh = cv2.warpAffine(alpha, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (s, s))
        sh = cv2.GaussianBlur(sh, (0, 0), rng.uniform(1.5, 0.06 * s))
        img *= (1 - rng.uniform(0.2, 0.6) * sh)[..., None]
    occ = texture.astype(np.float32)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    g = rng.normal(0, 0.4, 2)
    occ *= (rng.uniform(0.6, 1.3) + g[0] * (xx - 0.5) + g[1] * (yy - 0.5))[..., None]
    if rng.random() < 0.7:  # rounder objects darken towards their outline
        dist = cv2.distanceTransform((alpha > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
        occ *= (0.65 + 0.35 * np.clip(dist / (0.04 * s), 0, 1))[..., None]
    a = alpha[..., None]
    return np.clip(img * (1 - a) + occ * a, 0, 255).astype(np.uint8)


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light, colour, noise and JPEG over the whole crop (uint8 in, uint8 out)."""
    x = img.astype(np.float32)
    x = x * rng.uniform(0.7, 1.25) * rng.uniform(0.9, 1.1, 3).astype(np.float32) + rng.uniform(-20, 20)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.2))
    x += rng.normal(0, rng.uniform(0, 5), x.shape).astype(np.float32)
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        ok, enc = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        x = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return x


class CoverSynth:
    """Synthetic covered faces from real aligned crops.

    faces: (N, S, S, 3) uint8 crops at `coverage`, the faces the cover goes on;
    skin: faces to cut hand skin from (other people's; default the same);
    resolution: side r of the returned crops; clean: share of samples with no cover.
    """

    def __init__(self, faces: np.ndarray, resolution: int = 64, coverage: float = DEFAULT_COVERAGE,
                 skin: np.ndarray | None = None, clean: float = 0.35, kinds: tuple[str, ...] = KINDS):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown cover kind(s) {sorted(unknown)}; the kinds are {KINDS}")
        self.faces, self.skin = faces, skin if skin is not None else faces
        self.res, self.coverage, self.clean, self.kinds = resolution, coverage, clean, kinds

    def _jitter(self, face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random similarity about the crop centre (landmark error, other coverages) and a flip."""
        s = face.shape[0]
        m = cv2.getRotationMatrix2D((s / 2, s / 2), float(rng.normal(0, 6)), float(rng.uniform(0.9, 1.12)))
        m[:, 2] += rng.normal(0, 0.025 * s, 2)
        out = cv2.warpAffine(face, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return out[:, ::-1] if rng.random() < 0.5 else out

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One (image (r, r, 3) uint8, alpha (r, r) float32) pair."""
        face = self._jitter(self.faces[rng.integers(len(self.faces))], rng)
        s = face.shape[0]
        alpha = np.zeros((s, s), np.float32)
        img = face
        if rng.random() >= self.clean:
            for _ in range(1 if rng.random() < 0.75 else 2):
                kind = self.kinds[rng.integers(len(self.kinds))]
                if kind == "shape":
                    a, tex = random_shape(rng, s), texture_patch(rng, s)
                elif kind == "hand":
                    a, tex = hand_shape(rng, s), skin_patch(rng, self.skin, s, self.coverage)
                else:
                    a = line_shape(rng, s, self.coverage)
                    tex = (texture_patch(rng, s) if rng.random() < 0.4 else
                           np.full((s, s, 3), rng.uniform(0, 255, 3) * rng.uniform(0, 1), np.uint8))
                a = _soften(a, rng)
                img = composite(img, a, tex, rng)
                alpha = np.maximum(alpha, a)
        img = photometric(img, rng)
        img = cv2.resize(img, (self.res, self.res), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (self.res, self.res), interpolation=cv2.INTER_AREA)
        return img, alpha

    def batch(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """{"x": (n, 3, r, r) float in [0, 1], "target": (n, 1, r, r)}: the Occluder's forward arguments."""
        pairs = [self.sample(rng) for _ in range(n)]
        x = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2).float().div_(255)
        t = torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None]
        return {"x": x, "target": t}


# ---- held out: the "card" kind, for measuring only (CoverSynth never draws it) ------------------------
def card_alpha(shape: tuple[int, int], centre, size, angle: float, corner: float = 0.2) -> np.ndarray:
    """(H, W) float32 alpha of a rounded rectangle (a phone, a card, a cup's side): centre (x, y),
    size (w, h) in pixels, turned by `angle` degrees, corners rounded by `corner` of the short side.
    The edge is anti-aliased (sub-pixel polygon); this alpha is the exact truth of the cover."""
    w, h = float(size[0]), float(size[1])
    r = corner * min(w, h)
    pts = []
    for cx, cy, a0 in ((w / 2 - r, h / 2 - r, 0), (-w / 2 + r, h / 2 - r, 90), (-w / 2 + r, -h / 2 + r, 180),
                       (w / 2 - r, -h / 2 + r, 270)):
        t = np.radians(a0 + np.linspace(0, 90, 8))
        pts += list(zip(cx + r * np.cos(t), cy + r * np.sin(t)))
    pts = np.asarray(pts)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    pts = pts @ np.array([[c, s], [-s, c]]) + np.asarray(centre, np.float64)
    a = np.zeros(shape, np.uint8)
    cv2.fillPoly(a, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return a.astype(np.float32) / 255


def card_texture(shape: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8: the held-out `coffee` photo (scikit-image) stretched over a frame."""
    import skimage.data

    return cv2.resize(np.asarray(skimage.data.coffee()), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def card_clip(frames: list[np.ndarray], landmarks: list[np.ndarray], span: float = 2.6) -> tuple[list, list]:
    """A held-out card moving across each frame's face, left to right at nose-to-mouth height.

    frames: RGB uint8 (H, W, 3); landmarks: each frame's five landmarks (the uncovered truth).
    The card is 1.5 x 1.0 eye distances, turned 20 degrees, and travels from `span` eye
    distances left of the face centre to `span` right over the clip. Returns (covered frames,
    alphas (H, W) float32)."""
    n = len(frames)
    texture = card_texture(frames[0].shape[:2]).astype(np.float32)
    covered, alphas = [], []
    for i, (frame, lm) in enumerate(zip(frames, landmarks)):
        lm = np.asarray(lm, np.float64)
        mouth = lm[3:].mean(0)
        d = float(np.linalg.norm(lm[1] - lm[0]))
        u = (lm[1] - lm[0]) / d
        t = -span + 2 * span * i / max(n - 1, 1)
        centre = (lm[2] + mouth) / 2 + u * t * d
        a = card_alpha(frame.shape[:2], centre, (1.5 * d, 1.0 * d), 20.0 + np.degrees(np.arctan2(u[1], u[0])))
        out = frame.astype(np.float32) * (1 - a[..., None]) + texture * a[..., None]
        covered.append(np.clip(out + 0.5, 0, 255).astype(np.uint8))
        alphas.append(a)
    return covered, alphas
