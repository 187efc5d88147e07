"""Train the localiser on scenes built from single-knee crops (real and synthetic), then write
its directory: weights, and a ``model.json`` card (the format says it is a localiser) saying what it learned from and how."""

import dataclasses
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from kneegrade_ml.bundle import CARD_FILE, file_record, library_versions
from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.source import dataset_record
from kneegrade_ml.localise.inputs import letterbox, targets
from kneegrade_ml.localise.localiser import WEIGHTS_FILE
from kneegrade_ml.localise.network import HEAT, LOG_SIZE, OFFSET_X, RIGHT_SIDE, JointNet
from kneegrade_ml.localise.scenes import Scene, random_scene
from kneegrade_ml.provenance import source_revision
from kneegrade_ml.synth.params import sample_params
from kneegrade_ml.synth.render import render_knee
from kneegrade_ml.training.augment import ScannerAugmentation, scanner_look

LAYOUT_WEIGHTS = {
    "crop": 0.12,
    "shifted": 0.12,
    "wide": 0.2,
    "zoomed": 0.12,
    "bilateral": 0.26,
    "full-leg": 0.1,
    "none": 0.08,
}
CROP_SIZE = 224
SCANNER_SHARE = 0.5
"""Scenes given another scanner's look under ``--augment scanner``: with every scene, clean
crops stopped passing through whole; half keeps them (README "Any framing")."""
_SIDE = {"R": "right", "L": "left"}


@dataclass(frozen=True)
class KneeCrops:
    """Single-knee crops (N, 224, 224), each one's side and the index of the same patient's
    other knee (-1 when it is not in the set)."""

    pixels: np.ndarray
    sides: tuple[str | None, ...]
    partners: np.ndarray

    def __len__(self) -> int:
        return len(self.pixels)


def real_crops(folder: Path, limit: int | None = None) -> KneeCrops:
    """The crops of a real split; the side is the file name's last letter (OAI: 9001695L)."""
    samples = scan_split(folder)[:limit]
    pixels = np.stack(
        [
            np.asarray(read_image(s.path).resize((CROP_SIZE, CROP_SIZE)))
            for s in tqdm(samples, desc="reading crops", leave=False)
        ]
    )
    stems = [s.path.stem for s in samples]
    sides = tuple(_SIDE.get(stem[-1:].upper()) for stem in stems)
    index = {stem: i for i, stem in enumerate(stems)}
    twin = {"L": "R", "R": "L"}
    partners = np.array(
        [index.get(stem[:-1] + twin.get(stem[-1:].upper(), "?"), -1) for stem in stems]
    )
    return KneeCrops(pixels, sides, partners)


def synthetic_crops(count: int, seed: int) -> KneeCrops:
    """Synthetic knees rendered centred (no shift, unit scale), so the crop is the joint's frame."""
    rng = np.random.default_rng(seed)
    pixels, sides = [], []
    for i in range(count):
        params = dataclasses.replace(
            sample_params(i % 5, rng), shift_x=0.0, shift_y=0.0, scale=1.0
        )
        pixels.append(render_knee(params, rng))
        sides.append(_SIDE[params.side])
    return KneeCrops(np.stack(pixels), tuple(sides), np.full(count, -1))


def merge(*sets: KneeCrops) -> KneeCrops:
    offsets = np.cumsum([0] + [len(s) for s in sets[:-1]])
    return KneeCrops(
        np.concatenate([s.pixels for s in sets]),
        sum((s.sides for s in sets), ()),
        np.concatenate(
            [
                np.where(s.partners >= 0, s.partners + o, -1)
                for s, o in zip(sets, offsets)
            ]
        ),
    )


def sample_scene(
    crops: KneeCrops, rng: np.random.Generator, layout: str | None = None
) -> Scene:
    """A random scene around a random crop (layouts drawn by ``LAYOUT_WEIGHTS``)."""
    if layout is None:
        names = list(LAYOUT_WEIGHTS)
        layout = names[rng.choice(len(names), p=list(LAYOUT_WEIGHTS.values()))]
    i = int(rng.integers(len(crops)))
    partner = crops.partners[i]
    other = crops.pixels[partner] if partner >= 0 else None
    return random_scene(layout, crops.pixels[i], crops.sides[i], rng, other)


def augment(
    scene: Scene, rng: np.random.Generator, scanner: ScannerAugmentation | None = None
) -> Scene:
    """Mirror (a mirrored right knee is a left one), change exposure (gamma, contrast) and, with
    ``scanner``, give ``SCANNER_SHARE`` of the scenes another scanner's look (blur, noise,
    sharpening, JPEG)."""
    image = scene.image.astype(np.float32) / 255
    image = np.clip(
        (image ** rng.uniform(0.7, 1.4) - 0.5) * rng.uniform(0.7, 1.3) + 0.5, 0, 1
    )
    if scanner is not None and rng.random() < SCANNER_SHARE:
        pixels = torch.from_numpy(np.rint(image * 255).astype(np.uint8))[None]
        image = scanner(pixels)[0].numpy().astype(np.float32) / 255
    joints = scene.joints
    if rng.random() < 0.5:
        image = image[:, ::-1]
        width = image.shape[1]
        swap = {"right": "left", "left": "right"}
        joints = [
            dataclasses.replace(j, cx=width - j.cx, side=swap.get(j.side))
            for j in joints
        ]
    return Scene(np.ascontiguousarray(image * 255).astype(np.uint8), joints)


def batch(
    crops: KneeCrops,
    size: int,
    rng: np.random.Generator,
    scanner: ScannerAugmentation | None = None,
):
    """Inputs (N, 1, 256, 256), target maps (N, 5, 64, 64) and centre masks (N, 64, 64)."""
    inputs, maps, centres = [], [], []
    for _ in range(size):
        scene = augment(sample_scene(crops, rng), rng, scanner)
        tensor, box = letterbox(scene.image)
        target, centre = targets(scene.joints, box)
        inputs.append(tensor)
        maps.append(target)
        centres.append(centre)
    return torch.stack(inputs), torch.stack(maps), torch.stack(centres)


def localiser_loss(
    out: torch.Tensor, maps: torch.Tensor, centre: torch.Tensor
) -> torch.Tensor:
    """CenterNet's focal loss on the heat map, L1 on offsets and size, BCE on the side."""
    logit, target = out[:, HEAT], maps[:, 0]
    p = torch.sigmoid(logit)
    positive = -((1 - p) ** 2) * F.logsigmoid(logit)
    negative = -((1 - target) ** 4) * p**2 * F.logsigmoid(-logit)
    count = centre.sum().clamp(min=1)
    heat = (positive[centre].sum() + negative[~centre].sum()) / count
    at = centre[:, None].expand_as(out)
    regression = (
        F.l1_loss(
            out[:, OFFSET_X : LOG_SIZE + 1][at[:, OFFSET_X : LOG_SIZE + 1]],
            maps[:, OFFSET_X : LOG_SIZE + 1][at[:, OFFSET_X : LOG_SIZE + 1]],
            reduction="sum",
        )
        / count
    )
    side_target = maps[:, RIGHT_SIDE][centre]
    known = side_target >= 0
    side = (
        F.binary_cross_entropy_with_logits(
            out[:, RIGHT_SIDE][centre][known], side_target[known]
        )
        if known.any()
        else out.sum() * 0
    )
    return heat + regression + 0.5 * side


def train_localiser(
    crops: KneeCrops,
    steps: int,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
    scanner: ScannerAugmentation | None = None,
) -> JointNet:
    """AdamW with a one-cycle schedule over ``steps`` batches of freshly drawn scenes, each
    given another scanner's look by ``scanner`` when there is one."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = JointNet().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=learning_rate, weight_decay=1e-4
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, learning_rate, total_steps=steps
    )
    network.train()
    bar = tqdm(range(steps), desc="training the localiser", disable=not progress)
    for _ in bar:
        inputs, maps, centre = batch(crops, batch_size, rng, scanner)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        loss = localiser_loss(network(inputs), maps, centre)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return network.eval()


def save_localiser(network: JointNet, directory: Path, card: dict) -> dict:
    """Write the weights and the card (with their sha256); return the card."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / WEIGHTS_FILE
    torch.save(network.state_dict(), weights)
    card = {
        "format": "kneegrade-localiser/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **card,
        "libraries": library_versions(),
        "source": source_revision(),
        "files": {WEIGHTS_FILE: file_record(weights)},
    }
    (directory / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    return card


def _dataset(split: Path | None) -> dict | None:
    """What the real split is (its ``SOURCE.md`` sits in the split or the folder above)."""
    if split is None:
        return None
    return dataset_record(split) or dataset_record(split.parent)


def fit_and_save(
    data: Path | None,
    out: Path,
    steps: int,
    synthetic: int,
    seed: int,
    version: str,
    command: str,
    augmentation: str = "standard",
) -> dict:
    """The ``kneegrade train-localiser`` command: real crops from ``data`` (when given) plus
    ``synthetic`` rendered ones, ``steps`` batches, written to ``out``; ``augmentation`` named
    as the graders' (``AUGMENTATIONS``), checked before any crop is read."""
    scanner = scanner_look(augmentation)
    sets = [synthetic_crops(synthetic, seed)] if synthetic else []
    if data is not None:
        sets.insert(0, real_crops(data))
    crops = merge(*sets)
    start = time.perf_counter()
    network = train_localiser(crops, steps, seed=seed, scanner=scanner)
    card = {
        "name": "KneeGrade knee-joint localiser",
        "version": version,
        "task": "find each knee joint (0-2) and its side in a radiograph",
        "architecture": "JointNet: CenterNet-style heat-map regressor, 256 px letterboxed input",
        "trained_on": {
            "real": _dataset(data),
            "real_crops": int(len(crops) - synthetic),
            "synthetic_crops": synthetic,
            "layouts": LAYOUT_WEIGHTS,
        },
        "training": {
            "command": command,
            "steps": steps,
            "batch_size": 32,
            "seed": seed,
            "augment": augmentation,
            "scanner_share": SCANNER_SHARE if scanner is not None else 0.0,
            "seconds": round(time.perf_counter() - start, 1),
        },
    }
    return save_localiser(network, out, card)
