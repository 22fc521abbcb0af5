"""`faceswap evaluate`'s advice: a line for each figure that calls for one, none for a good swap."""

from __future__ import annotations

from faceswap.evaluate import EvalReport, Reconstruction


def _report(**changes) -> EvalReport:
    """The README's 30-minute route from the 128 px prior: nothing to advise."""
    report = EvalReport(
        reconstruction=[Reconstruction("a", 100, 0.87, 24.1, "given faceset"),
                        Reconstruction("b", 45, 0.92, 27.2, "given faceset")],
        frames=200, frames_with_faces=200, landmark_displacement=0.0193, flicker_original=6.5,
        flicker_swapped=5.5, sharpness=0.57, sharpness_ceiling=0.80, inner_sharpness=0.39, inner_ceiling=0.55,
        resolution=128,
        identity={"to": "b", "source": "a", "threshold": 0.6, "faces": 200, "share_to": 1.0, "share_source": 0.0,
                  "median_to": 0.365, "median_source": 0.7, "real_to": 0.2},
    )
    for key, value in changes.items():
        if key in report.identity:
            report.identity[key] = value
        else:
            setattr(report, key, value)
    return report


def test_a_good_swap_gets_no_advice():
    assert _report().advice() == []
    assert "advice" not in _report().table()


def test_each_weak_figure_gets_one_line_of_what_to_do():
    # the README's 5-minute baseline: B on 23.5 % of frames, landmarks 4.91 %, eyes-to-mouth 0.012 of 0.173
    weak = _report(share_to=0.235, landmark_displacement=0.0491, inner_sharpness=0.012, inner_ceiling=0.173,
                   resolution=64)
    tips = weak.advice()
    assert len(tips) == 3, tips
    assert "b recognised on only 24 % of frames" in tips[0] and "--init prior128" in tips[0]
    assert "--no-warp" in tips[1] and "faceswap refine" in tips[2]
    assert all(f"advice: {t}" in weak.table() for t in tips)
    assert weak.to_dict()["advice"] == tips


def test_the_source_showing_through_and_a_flickering_face_are_advised():
    tips = _report(share_source=0.075, flicker_swapped=13.0).advice()
    assert any("a still recognised on 8 % of frames" in t for t in tips), tips
    assert any("flickers 2.0 times" in t for t in tips), tips
