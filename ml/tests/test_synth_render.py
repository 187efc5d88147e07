"""The renderer draws what its parameters say: size, range, and the joint space it was asked for."""

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest

from kneegrade_ml.synth.params import PROFILES, KneeParams, sample_params
from kneegrade_ml.synth.render import SIZE, render_knee


def _upright(grade: int, **changes: float) -> KneeParams:
    """A knee of ``grade`` centred and straight, without spurs or cysts, for measuring."""
    p = sample_params(grade, np.random.default_rng(grade))
    fixed = {
        "rotation": 0.0,
        "shift_x": 0.0,
        "shift_y": 0.0,
        "scale": 1.0,
        "deformity": 0.0,
    }
    return replace(p, side="L", osteophytes=0, cysts=0, noise=0.0, **fixed, **changes)


def _gap_width(column: np.ndarray) -> int:
    """Length of the dark run (below half-maximum) around the joint line in one column."""
    centre = SIZE // 2
    window = column[centre - 40 : centre + 40].astype(float)
    threshold = (window.max() + window[30:50].min()) / 2
    dark = window < threshold
    start = 40
    while not dark[start]:
        start += 1 if window[start + 1] < window[start - 1] else -1
    lo, hi = start, start
    while lo > 0 and dark[lo - 1]:
        lo -= 1
    while hi < len(dark) - 1 and dark[hi + 1]:
        hi += 1
    return hi - lo + 1


@pytest.mark.parametrize("grade", range(5))
def test_render_gives_8bit_224_image_using_the_grey_range(grade):
    rng = np.random.default_rng(7)
    image = render_knee(sample_params(grade, rng), rng)
    assert image.shape == (SIZE, SIZE) and image.dtype == np.uint8
    assert image.max() - image.min() > 100  # bone against soft tissue, not a flat field


@pytest.mark.parametrize("medial, lateral", [(30.0, 31.0), (14.0, 22.0), (4.0, 9.0)])
def test_joint_space_in_the_image_matches_the_label(medial, lateral):
    p = _upright(2, jsw_medial=medial, jsw_lateral=lateral)
    image = render_knee(p, np.random.default_rng(0))
    centre = (SIZE - 1) / 2
    medial_col = round(centre - p.condyle_width / 2)
    lateral_col = round(centre + p.condyle_width / 2)
    assert abs(_gap_width(image[:, medial_col]) - medial) <= 2.5
    assert abs(_gap_width(image[:, lateral_col]) - lateral) <= 2.5


def test_right_knee_is_the_mirror_of_the_left():
    p = _upright(1)
    left = render_knee(p, np.random.default_rng(3))
    right = render_knee(replace(p, side="R"), np.random.default_rng(3))
    np.testing.assert_array_equal(left[:, ::-1], right)


def test_grade_features_follow_the_profiles():
    rng = np.random.default_rng(11)
    for grade, profile in enumerate(PROFILES):
        for _ in range(50):
            p = sample_params(grade, rng)
            narrow = min(p.jsw_medial, p.jsw_lateral)
            assert profile.jsw[0] <= narrow <= profile.jsw[1]
            assert profile.osteophytes[0] <= p.osteophytes <= profile.osteophytes[1]
            assert profile.cysts[0] <= p.cysts <= profile.cysts[1]
            assert profile.deformity[0] <= abs(p.deformity) <= profile.deformity[1]


def test_adjacent_grades_overlap_and_severity_rises():
    for lower, higher in pairwise(PROFILES):
        assert higher.jsw[0] < lower.jsw[1], (
            "joint space ranges of adjacent grades overlap"
        )
        assert higher.jsw[1] < lower.jsw[1]
        assert higher.osteophyte_size[1] > lower.osteophyte_size[1]
        assert higher.sclerosis[1] > lower.sclerosis[1]
    assert PROFILES[0].jsw == (25, 32) and PROFILES[4].jsw == (2, 7)  # SPEC
    assert PROFILES[2].deformity[1] < PROFILES[3].deformity[0]  # deformity from grade 3
