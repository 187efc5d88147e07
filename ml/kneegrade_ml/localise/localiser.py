"""Find every knee joint in a radiograph (0, 1 or 2) and cut each out as the graders expect.

An image that already is a centred single-knee crop is passed through whole, so the training
crops (and clients that crop themselves) grade exactly as before. Sides are the patient's:
DICOM's laterality and orientation when the file says; else, in a bilateral view, the standard
layout (the patient's right knee on the image's left); else, for one knee, the fibula's side as
the network reads it, when it is sure.
"""

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from kneegrade_ml.bundle import CARD_FILE, ModelLoadError, verify_files
from kneegrade_ml.localise.inputs import letterbox
from kneegrade_ml.localise.joints import Joint, crop_joint, is_whole_image, whole_image
from kneegrade_ml.localise.network import (
    HEAT,
    INPUT_SIZE,
    LOG_SIZE,
    OFFSET_X,
    OFFSET_Y,
    RIGHT_SIDE,
    STRIDE,
    JointNet,
)

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.pt"
MAX_JOINTS = 2
MIN_SCORE = 0.3
SURE_SIDE = 0.9
CENTRED_ASPECT = (0.8, 1.25)
CENTRED_MIN_SIZE = 0.75
CENTRED_MAX_OFFSET = 0.15
SAME_KNEE_IOU = 0.3
NESTED = 0.9
"""A frame this much inside a stronger one is the same knee: two knees never nest."""


@dataclass(frozen=True)
class ImageHints:
    """What an image's file says about its knees (DICOM), when it says anything."""

    laterality: str | None = None  # "right" or "left": a single-knee image's side
    right_on_image_left: bool | None = (
        None  # the patient's right shown on the image's left
    )


class Localiser:
    """Loaded once (``Localiser(directory)``), then ``find`` joints or ``crops`` per image."""

    def __init__(self, directory: Path | str, engine: str = "torch"):
        self.directory = Path(directory)
        card_path = self.directory / CARD_FILE
        try:
            self.card = json.loads(card_path.read_text())
        except (OSError, ValueError) as err:
            raise ModelLoadError(
                f"cannot read the localiser card {card_path}: {err}"
            ) from err
        verify_files(self.directory, self.card)
        self.network = JointNet()
        try:
            state = torch.load(
                self.directory / WEIGHTS_FILE, map_location="cpu", weights_only=True
            )
            self.network.load_state_dict(state)
        except Exception as err:
            raise ModelLoadError(
                f"cannot load localiser weights in {self.directory}: {err}"
            ) from err
        self.network.eval().to(memory_format=torch.channels_last)
        self.session = _onnx_session(self.network) if engine == "onnx" else None

    @property
    def engine(self) -> str:
        """What runs the network: ``onnx`` or ``torch``."""
        return "torch" if self.session is None else "onnx"

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unknown"))

    def find(
        self,
        image: Image.Image,
        hints: ImageHints | None = None,
        keep_centred_crops: bool = True,
    ) -> list[Joint]:
        """Every knee joint in the image, left to right on the image, with the patient's side.

        An image that already is a centred crop gets the whole image as its frame, unless
        ``keep_centred_crops`` is off (to align every knee to one frame, as ``align`` does).
        """
        tensor, box = letterbox(np.asarray(image.convert("L")))
        joints = _decode(self._maps(tensor[None])[0], box.scale)
        joints = [_clip_to_image(j, image) for j in joints]
        if keep_centred_crops and is_centred_crop(image, joints):
            joints = [replace(joints[0], **_frame(whole_image(image)))]
        return assign_sides(sorted(joints, key=lambda j: j.cx), hints or ImageHints())

    def crops(
        self,
        image: Image.Image,
        hints: ImageHints | None = None,
        keep_centred_crops: bool = True,
    ) -> list[tuple[Joint, Image.Image]]:
        """Each joint with its square crop; a centred crop comes back as the image itself."""
        found = self.find(image, hints, keep_centred_crops)
        return [
            (joint, image if is_whole_image(joint, image) else crop_joint(image, joint))
            for joint in found
        ]

    def _maps(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.session is not None:
            return torch.from_numpy(
                self.session.run(None, {"input": inputs.numpy()})[0]
            )
        with torch.inference_mode():
            return self.network(inputs.contiguous(memory_format=torch.channels_last))


def _onnx_session(network: JointNet):
    """The network on ONNX Runtime, or None (torch then runs it) when it does not export or its
    maps differ from torch's by more than 1e-3 on a seeded image."""
    from kneegrade_ml.onnx_engine import cpu_session, export_module

    example = torch.rand(
        1, 1, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(0)
    )
    try:
        session = cpu_session(export_module(network, example))
    except Exception:  # an exporter or runtime that cannot take it: torch serves
        log.exception("the localiser cannot run on ONNX Runtime; running it with torch")
        return None
    with torch.inference_mode():
        expected = network(
            example.contiguous(memory_format=torch.channels_last)
        ).numpy()
    difference = float(
        np.abs(session.run(None, {"input": example.numpy()})[0] - expected).max()
    )
    if difference > 1e-3:
        log.error(
            "the localiser on ONNX Runtime differs by %.2g; running it with torch",
            difference,
        )
        return None
    return session


def _decode(maps: torch.Tensor, scale: float) -> list[Joint]:
    """Peaks of the heat map above ``MIN_SCORE`` as joints in image pixels, frames of one knee
    merged (the stronger kept), at most ``MAX_JOINTS``."""
    heat = torch.sigmoid(maps[HEAT])
    peaks = (heat == F.max_pool2d(heat[None, None], 3, 1, 1)[0, 0]) & (heat > MIN_SCORE)
    rows, cols = torch.nonzero(peaks, as_tuple=True)
    order = torch.argsort(heat[rows, cols], descending=True)
    joints: list[Joint] = []
    for row, col in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        x = (col + float(maps[OFFSET_X, row, col])) * STRIDE / scale
        y = (row + float(maps[OFFSET_Y, row, col])) * STRIDE / scale
        size = float(torch.exp(maps[LOG_SIZE, row, col])) * INPUT_SIZE / scale
        right = float(torch.sigmoid(maps[RIGHT_SIDE, row, col]))
        joint = Joint(
            x, y, size, float(heat[row, col]), *_anatomical_side(right), right
        )
        if not any(_same_knee(joint, kept) for kept in joints):
            joints.append(joint)
        if len(joints) == MAX_JOINTS:
            break
    return joints


def _frame(joint: Joint) -> dict:
    return {"cx": joint.cx, "cy": joint.cy, "size": joint.size}


def _anatomical_side(right: float) -> tuple[str | None, str | None]:
    if right >= SURE_SIDE:
        return "right", "anatomy"
    if right <= 1 - SURE_SIDE:
        return "left", "anatomy"
    return None, None


def _same_knee(a: Joint, b: Joint) -> bool:
    """Two frames of one knee: they overlap (intersection over union) or one lies inside the
    other, as a weak second peak does inside a crop's own frame."""
    ax, ay, asz, _ = a.box
    bx, by, bsz, _ = b.box
    w = max(0.0, min(ax + asz, bx + bsz) - max(ax, bx))
    h = max(0.0, min(ay + asz, by + bsz) - max(ay, by))
    inter = w * h
    union = asz * asz + bsz * bsz - inter
    return inter >= SAME_KNEE_IOU * union or inter >= NESTED * min(asz, bsz) ** 2


def _clip_to_image(joint: Joint, image: Image.Image) -> Joint:
    """A frame no bigger than the image's longer side (a knee never outgrows its radiograph)."""
    return replace(joint, size=min(joint.size, float(max(image.size))))


def is_roughly_square(image: Image.Image) -> bool:
    """The shape a centred crop has (``is_centred_crop``), which the image alone tells."""
    width, height = image.size
    low, high = CENTRED_ASPECT
    return low <= width / height <= high


def is_centred_crop(image: Image.Image, joints: list[Joint]) -> bool:
    """One joint, filling a roughly square image and centred in it: a crop already."""
    if len(joints) != 1:
        return False
    width, height = image.size
    joint = joints[0]
    return (
        is_roughly_square(image)
        and joint.size >= CENTRED_MIN_SIZE * min(width, height)
        and abs(joint.cx - width / 2) <= CENTRED_MAX_OFFSET * width
        and abs(joint.cy - height / 2) <= CENTRED_MAX_OFFSET * height
    )


def assign_sides(joints: list[Joint], hints: ImageHints) -> list[Joint]:
    """The patient's side of each joint (``joints`` sorted left to right on the image)."""
    if len(joints) == 1 and hints.laterality is not None:
        return [joints[0].with_side(hints.laterality, "dicom")]
    if len(joints) == 2:
        right_first = hints.right_on_image_left is not False
        source = "dicom" if hints.right_on_image_left is not None else "layout"
        sides = ("right", "left") if right_first else ("left", "right")
        return [j.with_side(s, source) for j, s in zip(joints, sides, strict=True)]
    return joints
