"""``kneegrade align``: a copy of a graded image folder with every knee cut to one frame.

Each image's strongest knee is cropped to its frame (centred, one scale) and left knees are
mirrored into right ones (by the localiser's best guess of the side where it is not sure), so the same pixel shows the same anatomy in every image: what a model
reading raw pixels (the Random Forest) needs. Images where no knee is found are copied as they are.
"""

import json
import shutil
from collections import Counter
from pathlib import Path

from PIL import ImageOps
from tqdm import tqdm

from kneegrade_ml.data.folders import SPLITS, scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.source import DATASET_FILE, SOURCE_FILE
from kneegrade_ml.localise.joints import Joint, crop_joint
from kneegrade_ml.localise.localiser import Localiser


def align_dataset(
    data: Path, out: Path, localiser: Localiser, progress: bool = True
) -> Counter:
    """Write the aligned copy of every split of ``data`` under ``out``; count what happened."""
    _describe(data, out, localiser)
    counts: Counter[str] = Counter()
    for split in (s for s in SPLITS if (data / s).is_dir()):
        for sample in tqdm(scan_split(data / split), desc=split, disable=not progress):
            image = read_image(sample.path)
            joints = localiser.find(image, keep_centred_crops=False)
            target = out / split / str(sample.grade) / f"{sample.path.stem}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not joints:
                counts["no knee found: copied"] += 1
                image.save(target)
                continue
            joint = max(joints, key=lambda j: j.score)
            crop = crop_joint(image, joint)
            left = _is_left(joint)
            if left:
                crop = ImageOps.mirror(crop)
            counts[f"aligned, {'left knee mirrored' if left else 'right knee'}"] += 1
            crop.save(target)
    return counts


def _is_left(joint: Joint) -> bool:
    """The joint's side, or the localiser's better guess where it is not sure enough to say."""
    if joint.side is not None:
        return joint.side == "left"
    return joint.right is not None and joint.right < 0.5


def _describe(data: Path, out: Path, localiser: Localiser) -> None:
    """Keep what the source says it is (synthetic or real, its licence), noting the alignment."""
    out.mkdir(parents=True, exist_ok=True)
    generated = data / DATASET_FILE
    if generated.is_file():
        record = json.loads(generated.read_text())
        record["aligned_by"] = f"kneegrade align, localiser {localiser.version}"
        (out / DATASET_FILE).write_text(json.dumps(record, indent=2) + "\n")
    if (data / SOURCE_FILE).is_file():
        shutil.copyfile(data / SOURCE_FILE, out / SOURCE_FILE)
