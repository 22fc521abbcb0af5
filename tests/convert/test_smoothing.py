"""Temporal smoothing: less jitter on a noisy still track, follows a step."""

import numpy as np

from faceswap.convert.smoothing import LandmarkSmoother, OneEuroFilter

FPS = 30.0
BASE = np.array([[100, 100], [140, 100], [120, 120], [105, 140], [135, 140]], np.float64)


def _track(n=120, step_at=60, step=(60.0, 0.0), noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    true = np.stack([BASE + (np.array(step) if i >= step_at else 0) for i in range(n)])
    return true, true + rng.normal(0, noise, true.shape)


def test_one_euro_reduces_jitter_and_follows_a_step():
    true, noisy = _track()
    f = OneEuroFilter(FPS)
    out = np.stack([f(x, scale=40.0) for x in noisy])
    still = slice(10, 60)
    jitter_in = np.abs(np.diff(noisy[still], axis=0)).mean()
    jitter_out = np.abs(np.diff(out[still], axis=0)).mean()
    assert jitter_out < jitter_in / 3
    err_in = np.abs(noisy[still] - true[still]).mean()
    assert np.abs(out[still] - true[still]).mean() < err_in
    # follows the step: within 2 px (of 60) after 10 frames (1/3 s)
    assert np.abs(out[70:] - true[70:]).mean() < 2.0
    assert np.abs(out[62] - true[62]).mean() < 30  # already most of the way


def test_landmark_smoother_keeps_faces_apart():
    sm = LandmarkSmoother(FPS)
    rng = np.random.default_rng(1)
    other = BASE + [400, 0]
    outs = []
    for i in range(40):
        faces = [BASE + rng.normal(0, 1, BASE.shape), other + rng.normal(0, 1, BASE.shape)]
        outs.append(sm(i, faces))
    a = np.stack([o[0] for o in outs])
    b = np.stack([o[1] for o in outs])
    assert np.abs(a[-10:] - BASE).mean() < 1 and np.abs(b[-10:] - other).mean() < 1
    assert len(sm.tracks) == 2
    # a face far away after a gap starts fresh (no smoothing lag)
    far = BASE + [0, 300]
    assert np.allclose(sm(60, [far])[0], far)
