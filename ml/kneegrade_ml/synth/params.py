"""What a synthetic knee looks like: KL-grade features and the variation of anatomy and exposure.

Grade features follow the KL definitions, with ranges that overlap between adjacent grades the way
readers disagree (grade 1 "doubtful" sits between 0 and 2).
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class GradeProfile:
    """Ranges of the radiographic features of one KL grade (pixels at 224x224, 0-1 intensities)."""

    jsw: tuple[float, float]  # joint space width of the narrower compartment
    asymmetry: tuple[float, float]  # the wider compartment's, as a multiple of it
    osteophytes: tuple[int, int]  # count, inclusive
    osteophyte_size: tuple[float, float]
    sclerosis: tuple[float, float]
    cysts: tuple[int, int]  # count, inclusive
    deformity: tuple[float, float]  # varus/valgus angle in degrees


# fmt: off
PROFILES: tuple[GradeProfile, ...] = (
    #            jsw       asymmetry     osteophytes  size        sclerosis     cysts   deformity
    GradeProfile((25, 32), (1.00, 1.15), (0, 1), (1.0, 2.5), (0.00, 0.10), (0, 0), (0.0, 1.0)),
    GradeProfile((19, 28), (1.00, 1.25), (0, 2), (1.5, 4.0), (0.00, 0.20), (0, 0), (0.0, 1.5)),
    GradeProfile((13, 22), (1.05, 1.40), (1, 4), (3.0, 7.0), (0.10, 0.35), (0, 1), (0.0, 2.5)),
    GradeProfile((7, 15), (1.20, 1.80), (2, 6), (5.0, 10.0), (0.30, 0.65), (0, 2), (3.0, 7.0)),
    GradeProfile((2, 7), (1.50, 3.00), (3, 8), (8.0, 15.0), (0.60, 1.00), (1, 4), (5.0, 12.0)),
)
# fmt: on


@dataclass(frozen=True)
class KneeParams:
    """Every number that shapes one synthetic radiograph; written to labels.csv with the image."""

    grade: int
    side: str  # "L" or "R": the fibula lies on the lateral side
    jsw_medial: float
    jsw_lateral: float
    osteophytes: int
    osteophyte_size: float
    sclerosis: float
    cysts: int
    deformity: float  # degrees, positive = varus (medial narrowing)
    condyle_width: float  # half width of the femoral condyles
    notch_depth: float
    spine_height: float
    outline_seed: int  # draws the irregularity of the bones' outlines
    rotation: float  # degrees
    shift_x: float
    shift_y: float
    scale: float
    soft_tissue: float  # half width of the soft-tissue shadow
    exposure: float
    contrast: float
    gamma: float
    noise: float
    blur: float

    def as_row(self) -> dict[str, float | int | str]:
        """Return the parameters as a flat CSV row, floats rounded for readability."""
        return {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in asdict(self).items()
        }


def sample_params(grade: int, rng: np.random.Generator) -> KneeParams:
    """Draw one knee of ``grade``: its KL features, anatomy, positioning and exposure."""
    p = PROFILES[grade]
    jsw = rng.uniform(*p.jsw)
    wider = jsw * rng.uniform(*p.asymmetry)
    medial_narrow = rng.random() < 0.8  # medial OA is far more common than lateral
    deformity = rng.uniform(*p.deformity) * (1 if medial_narrow else -1)
    return KneeParams(
        grade=grade,
        side=str(rng.choice(["L", "R"])),
        jsw_medial=jsw if medial_narrow else wider,
        jsw_lateral=wider if medial_narrow else jsw,
        osteophytes=int(rng.integers(p.osteophytes[0], p.osteophytes[1] + 1)),
        osteophyte_size=rng.uniform(*p.osteophyte_size),
        sclerosis=rng.uniform(*p.sclerosis),
        cysts=int(rng.integers(p.cysts[0], p.cysts[1] + 1)),
        deformity=deformity,
        condyle_width=rng.uniform(80, 96),
        notch_depth=rng.uniform(14, 24),
        spine_height=rng.uniform(6, 14),
        outline_seed=int(rng.integers(2**31)),
        rotation=rng.uniform(-5, 5),
        shift_x=rng.uniform(-8, 8),
        shift_y=rng.uniform(-2, 16),
        scale=rng.uniform(0.92, 1.08),
        soft_tissue=rng.uniform(105, 150),
        exposure=rng.uniform(0.8, 1.4),
        contrast=rng.uniform(0.8, 1.05),
        gamma=rng.uniform(0.8, 1.3),
        noise=rng.uniform(0.01, 0.035),
        blur=rng.uniform(0.5, 1.3),
    )
