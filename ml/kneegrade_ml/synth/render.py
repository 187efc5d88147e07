"""Render one synthetic AP knee radiograph from its parameters.

Bones are analytic shapes evaluated on the pixel grid (no resampling): the femur with its condyles
and notch, the tibia with its plateau and spines, the fibular head and the patella. Each bone is
projected like a radiograph (a marrow core inside a cortical shell), attenuation is turned into
brightness, then exposure, blur and quantum noise finish the picture.
"""

import math

import numpy as np
from scipy.ndimage import gaussian_filter

from kneegrade_ml.synth.params import KneeParams

SIZE = 224
_CENTRE = (SIZE - 1) / 2


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _soft_mask(inside: np.ndarray) -> np.ndarray:
    """Anti-aliased mask from a signed distance (positive inside, in pixels)."""
    return np.clip(inside / 1.2 + 0.5, 0.0, 1.0)


def _projected(
    u: np.ndarray, shell: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Path lengths through a round bone's marrow core and cortical shell at relative offset u."""
    outer = np.sqrt(np.clip(1 - u * u, 0.0, None))
    inner = np.sqrt(np.clip((1 - shell) ** 2 - u * u, 0.0, None))
    return inner, outer - inner


def _ellipse(x, y, cx, cy, rx, ry, angle=0.0) -> np.ndarray:
    """Signed distance (approximate, pixels, positive inside) of a rotated ellipse."""
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    u, v = (c * dx + s * dy) / rx, (-s * dx + c * dy) / ry
    return (1 - np.sqrt(u * u + v * v)) * min(rx, ry)


class _Frame:
    """Pixel grid expressed in the knee's own coordinates: origin at the joint centre, +x lateral."""

    def __init__(self, p: KneeParams):
        rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        a = math.radians(p.rotation)
        dx = (cols - _CENTRE - p.shift_x) / p.scale
        dy = (rows - _CENTRE - p.shift_y) / p.scale
        self.x = math.cos(a) * dx + math.sin(a) * dy
        self.y = -math.sin(a) * dx + math.cos(a) * dy
        shear = math.tan(math.radians(p.deformity))
        # Angular deformity bends the shafts away from the joint line, which stays in place.
        self.x_femur = self.x - self.y * shear / 2
        self.x_tibia = self.x + self.y * shear


def _joint_gap(x: np.ndarray, p: KneeParams) -> np.ndarray:
    """Joint space width across the knee: medial (x < 0) and lateral compartments."""
    return p.jsw_medial + (p.jsw_lateral - p.jsw_medial) * _sigmoid(x / 6)


def _rounded_corner(x: np.ndarray, half_width: float, radius: float) -> np.ndarray:
    """How far a surface bends away from the joint at a bone's rounded outer corners."""
    past = np.clip(np.abs(x) - (half_width - radius), 0.0, radius)
    return radius - np.sqrt(np.clip(radius**2 - past**2, 0.0, None))


def _femur_surface(x: np.ndarray, p: KneeParams, notch: bool = True) -> np.ndarray:
    """y of the femoral condyles' lower edge: rounded condyles and the intercondylar notch."""
    w = p.condyle_width
    lobe = (np.abs(x) - 0.5 * w) / (0.5 * w)  # each condyle bulges towards the tibia
    surface = -_joint_gap(x, p) / 2 - 5 * lobe**2 - _rounded_corner(x, w, 0.36 * w)
    if notch:
        surface = surface - p.notch_depth * np.sqrt(
            np.clip(1 - (x / 20) ** 2, 0.0, None)
        )
    return surface


def _tibia_surface(x: np.ndarray, p: KneeParams) -> np.ndarray:
    """y of the tibial plateau: flat compartments, spines in the middle, rounded margins."""
    w = p.condyle_width + 4
    spines = p.spine_height * (
        np.exp(-(((x + 7) / 6) ** 2)) + 0.8 * np.exp(-(((x - 8) / 6) ** 2))
    )
    return _joint_gap(x, p) / 2 - spines + _rounded_corner(x, w, 10)


def _bone(
    x, y, surface_depth, half_width, shell, texture
) -> tuple[np.ndarray, np.ndarray]:
    """Projected density of a long bone, and its depth below the joint surface (pixels)."""
    inside = np.minimum(surface_depth, half_width - np.abs(x))
    core, cortex = _projected(np.abs(x) / half_width, shell)
    plate = 0.55 * np.exp(
        -(((surface_depth - 1.5) / 1.4) ** 2)
    )  # subchondral bone plate
    density = core * (0.75 + texture) + 2.6 * cortex + plate
    return _soft_mask(inside) * density, surface_depth


def _outline_wobble(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Smooth irregularity of a bone's side outlines (pixels), different on each side."""
    r = np.random.default_rng(seed)
    wobble = np.zeros_like(y)
    for side in (-1.0, 1.0):
        waves = zip(
            r.uniform(0.03, 0.1, 3).tolist(),
            r.uniform(0, 2 * np.pi, 3).tolist(),
            r.uniform(0.4, 1.2, 3).tolist(),
        )
        along = sum(a * np.sin(k * y + phase) for k, phase, a in waves)
        wobble += np.where(x * side > 0, along, 0.0)
    return wobble


def _femur(f: _Frame, p: KneeParams, texture: np.ndarray):
    w = p.condyle_width
    rise = np.clip(-f.y, 0.0, None)
    half_width = w * (0.76 + 0.24 * np.exp(-np.clip(rise - 16, 0.0, None) / 40))
    half_width += _outline_wobble(f.x_femur, f.y, p.outline_seed)
    shell = 0.05 + 0.07 * _smoothstep((rise - 20) / 90)
    depth = _femur_surface(f.x_femur, p, notch=False) - f.y
    density, depth = _bone(f.x_femur, f.y, depth, half_width, shell, texture)
    # The notch is seen through the posterior condyles: fainter bone under a cortical roof.
    roof = _femur_surface(f.x_femur, p) - f.y
    density *= (
        1 - 0.45 * (1 - _soft_mask(roof / 2)) + 0.2 * np.exp(-(((roof - 1) / 2) ** 2))
    )
    return density, depth


def _tibia(f: _Frame, p: KneeParams, texture: np.ndarray):
    w = p.condyle_width + 4
    fall = np.clip(f.y, 0.0, None)
    half_width = w * (0.74 + 0.26 * np.exp(-np.clip(fall - 12, 0.0, None) / 35))
    half_width += _outline_wobble(f.x_tibia, f.y, p.outline_seed + 1)
    shell = 0.05 + 0.07 * _smoothstep((fall - 30) / 80)
    depth = f.y - _tibia_surface(f.x_tibia, p)
    density, depth = _bone(f.x_tibia, f.y, depth, half_width, shell, texture)
    posterior_rim = 0.25 * np.exp(-(((depth - 7) / 1.6) ** 2))
    return density + posterior_rim * (density > 0), depth


def _fibula(f: _Frame, p: KneeParams) -> np.ndarray:
    """Fibular head and neck beside the lateral tibia, partly overlapping it."""
    cx = 0.84 * p.condyle_width
    head = _ellipse(f.x_tibia, f.y, cx + 2, 56, 15, 19, 0.3)
    half_width = 12 - 3 * _smoothstep((f.y - 60) / 60)
    neck = np.minimum(half_width - np.abs(f.x_tibia - (cx - 2)), f.y - 55)
    inside = np.maximum(head, neck)
    core, cortex = _projected(1 - np.clip(inside, 0, None) / 12, 0.2)
    return _soft_mask(inside) * (0.3 * core + 0.8 * cortex)


def _patella(f: _Frame, p: KneeParams) -> np.ndarray:
    """The patella, seen through the femur as a faint oval."""
    r = p.condyle_width / 88
    inside = _ellipse(f.x_femur, f.y, 6, -56, 40 * r, 46 * r)
    return _soft_mask(inside) * (0.1 + 0.12 * np.exp(-(((inside - 2) / 3) ** 2)))


def _osteophytes(f: _Frame, p: KneeParams, rng: np.random.Generator) -> np.ndarray:
    """Bony spurs growing from the joint margins, more on the narrowed compartment."""
    w = p.condyle_width
    medial_first = p.jsw_medial <= p.jsw_lateral
    out = np.zeros_like(f.x)
    for _ in range(p.osteophytes):
        lateral = rng.random() < (0.3 if medial_first else 0.7)
        sign = 1.0 if lateral else -1.0
        on_femur = rng.random() < 0.5
        size = p.osteophyte_size * rng.uniform(0.6, 1.1)
        if on_femur:
            x, toward_joint = f.x_femur, 1.0
            margin_x = sign * 0.88 * w
            margin_y = float(_femur_surface(np.array([margin_x]), p, notch=False)[0])
        else:
            x, toward_joint = f.x_tibia, -1.0
            margin_x = sign * (w + 1)
            margin_y = float(_tibia_surface(np.array([margin_x]), p)[0])
        tilt = rng.uniform(0.1, 0.7)
        angle = math.atan2(toward_joint * math.sin(tilt), sign * math.cos(tilt))
        cx = margin_x + math.cos(angle) * size * 0.6
        cy = margin_y + math.sin(angle) * size * 0.6 - toward_joint * 2
        spur = _ellipse(x, f.y, cx, cy, size, max(1.6, size * 0.42), angle)
        out = np.maximum(out, _soft_mask(spur) * 1.6)
    return out


def _subchondral(f: _Frame, p: KneeParams, femur_depth, tibia_depth, rng) -> np.ndarray:
    """Density change under the joint surfaces: sclerosis, and cysts with sclerotic rims."""
    narrow_medial = p.jsw_medial <= p.jsw_lateral
    weight_medial, weight_lateral = (1.0, 0.35) if narrow_medial else (0.35, 1.0)
    weight = weight_medial + (weight_lateral - weight_medial) * _sigmoid(f.x / 6)
    weight = weight * (np.abs(f.x) < p.condyle_width)
    band = np.exp(-np.clip(femur_depth, 0, None) / 7) * (femur_depth > 0)
    band += np.exp(-np.clip(tibia_depth, 0, None) / 9) * (tibia_depth > 0)
    change = 1.3 * p.sclerosis * weight * band
    for _ in range(p.cysts):
        side = -1.0 if (rng.random() < 0.75) == narrow_medial else 1.0
        cx = side * rng.uniform(0.25, 0.75) * p.condyle_width
        on_tibia = rng.random() < 0.6
        depth_here = rng.uniform(4, 14)
        surface = _tibia_surface if on_tibia else _femur_surface
        cy = float(surface(np.array([cx]), p)[0]) + (
            depth_here if on_tibia else -depth_here
        )
        radius = rng.uniform(2.0, 4.5)
        cyst = _ellipse(f.x, f.y, cx, cy, radius, radius * rng.uniform(0.8, 1.2))
        change += 0.3 * np.exp(-((cyst / 1.2) ** 2)) - 0.5 * _soft_mask(cyst / 2)
    return change


def _trabecular_texture(rng: np.random.Generator) -> np.ndarray:
    """Band-passed noise with vertical grain, the look of cancellous bone."""
    noise = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    fine = gaussian_filter(noise, (1.1, 0.5)) + gaussian_filter(noise, (0.5, 1.1))
    coarse = gaussian_filter(noise, 4)
    return 0.14 * fine / (fine.std() + 1e-6) + 0.04 * coarse / (coarse.std() + 1e-6)


def _expose(
    attenuation: np.ndarray, p: KneeParams, rng: np.random.Generator
) -> np.ndarray:
    """Film response, exposure, heel effect, detector blur and quantum noise; 0-1 brightness."""
    bright = 1 - np.exp(-p.exposure * attenuation)
    bright /= 1 - np.exp(-p.exposure * 2.4)
    heel = (
        1
        + rng.uniform(-0.08, 0.08)
        * (np.linspace(-1, 1, SIZE, dtype=np.float32)[:, None])
    )
    bright = (np.clip(bright, 0, None) ** p.gamma) * p.contrast * heel
    bright = gaussian_filter(bright, p.blur)
    grain = rng.standard_normal(bright.shape).astype(np.float32)
    bright += p.noise * np.sqrt(np.clip(bright, 0, None) + 0.05) * grain
    return np.clip(bright, 0.0, 1.0)


def render_knee(p: KneeParams, rng: np.random.Generator) -> np.ndarray:
    """Return a 224x224 uint8 radiograph of the knee described by ``p``."""
    f = _Frame(p)
    texture = _trabecular_texture(rng)
    femur, femur_depth = _femur(f, p, texture)
    tibia, tibia_depth = _tibia(f, p, texture)
    bone = np.maximum(femur + _patella(f, p) * (femur > 0), tibia)
    bone = np.maximum(bone, _osteophytes(f, p, rng)) + _fibula(f, p)
    bone += _subchondral(f, p, femur_depth, tibia_depth, rng) * (
        (femur > 0.2) | (tibia > 0.2)
    )
    tissue = np.sqrt(np.clip(1 - (f.x / p.soft_tissue) ** 2, 0.0, None))
    image = _expose(0.8 * tissue + 0.6 * np.clip(bone, 0, None), p, rng)
    if p.side == "R":
        image = image[:, ::-1]
    return np.round(image * 255).astype(np.uint8)
