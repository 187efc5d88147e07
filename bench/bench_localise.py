"""Localisation benchmark: how well knees are found in re-framed real crops, and what it costs
the grade.

Every crop of a real split (by default chen2018 val) is re-framed as the product meets
radiographs: left as it is (``crop``), shifted and rescaled (``shifted``), widened to about 2:1
(``wide``), zoomed out (``zoomed``), paired with the patient's other knee (or its mirror image) as
a bilateral view (``bilateral``), or stretched into a full-leg field (``full-leg``). The
localiser then finds the knees again, and the released grader grades its crops. Per layout:
detection rate, scenes passed through whole as crops (every ``crop`` scene should be), centre
and size error as fractions of the joint frame, side accuracy, the grade's accuracy and QWK
against the original crops graded directly, and what grading the whole image (the product before
localisation) gave. The scenes are built here, seeded, and never committed;
``--write DIR`` saves them as graded folders for ``kneegrade evaluate``. ``--shift scanner`` (or
any kind of ``evaluation/shift.py``) makes each scene look as another hospital's scanner might
have produced it before the localiser sees it; Δ is then against the knees cut at their true
frames from the shifted scenes, so it is what the localiser itself costs under the shift.

Run: `.venv/bin/python bench/bench_localise.py` (`--limit 100` for a quick run).
"""

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table
from sklearn.metrics import accuracy_score, cohen_kappa_score
from tqdm import tqdm

from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.evaluation.shift import KINDS, shift_image
from kneegrade_ml.grades import GRADES
from kneegrade_ml.localise.joints import Joint, crop_joint, is_whole_image
from kneegrade_ml.localise.localiser import Localiser
from kneegrade_ml.localise.scenes import Scene, random_scene
from kneegrade_ml.localise.training import KneeCrops, real_crops
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu

LAYOUTS = ("crop", "shifted", "wide", "zoomed", "bilateral", "full-leg")
FOUND_WITHIN = 0.25
"""A knee counts as found when a joint's centre is within this fraction of its frame."""
RESULTS = Path("artifacts/bench/localise.json")

# Wide enough for the whole table when the output goes to a log rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)


@dataclass
class LayoutScore:
    """What one layout measured, knee by knee."""

    knees: int = 0
    found: int = 0
    extra: int = 0
    graded_whole: int = 0
    centre_errors: list[float] = field(default_factory=list)
    size_errors: list[float] = field(default_factory=list)
    sides_right: int = 0
    sides_given: int = 0
    truth: list[int] = field(default_factory=list)
    localised: list[int] = field(default_factory=list)
    original: list[int] = field(default_factory=list)
    whole: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def row(self) -> dict:
        def scores(predicted: list[int]) -> tuple[float, float]:
            return (
                float(accuracy_score(self.truth, predicted)),
                float(
                    cohen_kappa_score(
                        self.truth, predicted, weights="quadratic", labels=GRADES
                    )
                ),
            )

        acc, qwk = scores(self.localised)
        acc0, qwk0 = scores(self.original)
        acc_whole, qwk_whole = scores(self.whole)
        return {
            "knees": self.knees,
            "detection_rate": self.found / self.knees,
            "extra_joints": self.extra,
            "graded_whole": self.graded_whole,
            "centre_error_median": statistics.median(
                self.centre_errors or [float("nan")]
            ),
            "centre_error_p95": float(np.percentile(self.centre_errors, 95))
            if self.centre_errors
            else float("nan"),
            "size_error_median": statistics.median(self.size_errors or [float("nan")]),
            "side_given": self.sides_given / self.knees,
            "side_accuracy": self.sides_right / self.sides_given
            if self.sides_given
            else None,
            "accuracy": acc,
            "qwk": qwk,
            "accuracy_original_crops": acc0,
            "qwk_original_crops": qwk0,
            "accuracy_whole_image": acc_whole,
            "qwk_whole_image": qwk_whole,
            "localise_ms_median": 1000 * statistics.median(self.seconds),
        }


def nearest(truth: Joint, joints: list[Joint]) -> tuple[int, float] | None:
    """The found joint closest to ``truth``, and its centre error as a fraction of the frame."""
    if not joints:
        return None
    errors = [np.hypot(j.cx - truth.cx, j.cy - truth.cy) / truth.size for j in joints]
    best = int(np.argmin(errors))
    return best, float(errors[best])


def score_scene(
    scene: Scene,
    grades: list[int],
    originals: list[int],
    localiser: Localiser,
    predictor: Predictor,
    score: LayoutScore,
    keep_centred_crops: bool = True,
) -> None:
    image = Image.fromarray(scene.image)
    start = time.perf_counter()
    crops = localiser.crops(image, keep_centred_crops=keep_centred_crops)
    score.seconds.append(time.perf_counter() - start)
    score.graded_whole += int(len(crops) == 1 and is_whole_image(crops[0][0], image))
    graded = (
        [p.grade for p in predictor.predict_batch([c for _, c in crops])]
        if crops
        else []
    )
    whole = predictor.predict(image).grade
    joints = [j for j, _ in crops]
    matched = set()
    for truth, grade, original in zip(scene.joints, grades, originals, strict=True):
        score.knees += 1
        score.truth.append(grade)
        score.original.append(original)
        score.whole.append(whole)
        hit = nearest(truth, joints)
        if hit is None:
            score.localised.append(whole)
            continue
        index, error = hit
        score.localised.append(graded[index])
        score.centre_errors.append(error)
        score.size_errors.append(abs(joints[index].size - truth.size) / truth.size)
        if error <= FOUND_WITHIN:
            score.found += 1
            matched.add(index)
            if joints[index].side is not None:
                score.sides_given += 1
                score.sides_right += joints[index].side == truth.side
    score.extra += len(joints) - len(matched)


def write_scene(
    out: Path, layout: str, scene: Scene, grades: list[int], stem: str
) -> None:
    """Save a scene once per knee, under that knee's grade, named by its side when it has two."""
    for joint, grade in zip(scene.joints, grades, strict=True):
        suffix = f"_{joint.side}" if len(scene.joints) > 1 else ""
        folder = out / layout / str(grade)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(scene.image).save(folder / f"{stem}{suffix}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/knee-kl-chen2018/val")
    )
    parser.add_argument(
        "--model", type=Path, default=Path("models/efficientnet-lite2-chen2018")
    )
    parser.add_argument("--localiser", type=Path, default=Path("localiser"))
    parser.add_argument("--limit", type=int, default=None, help="crops per layout")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, default=None, help="save the scenes here")
    parser.add_argument(
        "--layouts",
        nargs="+",
        choices=LAYOUTS,
        default=list(LAYOUTS),
        help="which to run",
    )
    parser.add_argument(
        "--recrop-centred",
        action="store_true",
        help="re-crop images that already are centred crops too (the product passes them through)",
    )
    parser.add_argument(
        "--shift",
        choices=KINDS,
        default=None,
        help="shift every scene as another scanner would (evaluation/shift.py)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.data.is_dir():
        console.print(
            f"[red]no data at {args.data}: give --data a split of real crops[/]"
        )
        return 2
    configure_cpu()
    samples = scan_split(args.data)
    crops = real_crops(args.data)
    grades = [s.grade for s in samples]
    localiser, predictor = Localiser(args.localiser), Predictor(args.model)
    original = [p.grade for p in _in_batches(predictor, crops.pixels)]
    order = np.random.default_rng(args.seed).permutation(len(samples))[: args.limit]
    bench = Bench(crops, grades, original, localiser, predictor, args)
    results = {layout: bench.run(layout, order).row() for layout in args.layouts}
    print_table(results, args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "data": str(args.data),
        "model": str(args.model),
        "localiser": str(args.localiser),
        "limit": args.limit,
        "recrop_centred": args.recrop_centred,
        "shift": args.shift,
        "seed": args.seed,
        "layouts": results,
    }
    args.json.write_text(json.dumps(record, indent=2))
    console.print(f"Wrote {args.json}")
    return 0


@dataclass
class Bench:
    """The crops, their grades, the original crops' grades and the models, for every layout."""

    crops: KneeCrops
    grades: list[int]
    original: list[int]
    localiser: Localiser
    predictor: Predictor
    args: argparse.Namespace

    def run(self, layout: str, order: np.ndarray) -> LayoutScore:
        """Build the layout's scene around each crop in ``order``, re-localise, grade, score."""
        score = LayoutScore()
        crops, seed = self.crops, self.args.seed
        for i in tqdm(order, desc=layout, leave=False):
            rng = np.random.default_rng([seed, int(i), LAYOUTS.index(layout)])
            partner = int(crops.partners[i])
            other = crops.pixels[partner] if partner >= 0 else None
            scene = random_scene(layout, crops.pixels[i], crops.sides[i], rng, other)
            if self.args.shift:
                shifted = shift_image(
                    scene.image, self.args.shift, seed, f"{layout}-{i}"
                )
                scene = Scene(shifted, scene.joints)
            knees = [int(i)]
            if len(scene.joints) == 2:
                knees = _pair(i, partner, crops.sides[i])
            grades = [self.grades[k] for k in knees]
            originals = (
                self.true_frames(scene)
                if self.args.shift
                else [self.original[k] for k in knees]
            )
            score_scene(scene, grades, originals, self.localiser, self.predictor, score,
                        keep_centred_crops=not self.args.recrop_centred)  # fmt: skip
            if self.args.write:
                write_scene(self.args.write, layout, scene, grades, f"{layout}-{i}")
        return score

    def true_frames(self, scene: Scene) -> list[int]:
        """The grades of the scene's knees cut at their true frames: what perfect localisation
        would give, so that Δ is the localiser's own cost."""
        image = Image.fromarray(scene.image)
        crops = [crop_joint(image, joint) for joint in scene.joints]
        return [p.grade for p in self.predictor.predict_batch(crops)]


def _pair(i: int, partner: int, side: str | None) -> list[int]:
    """The two knees of a bilateral scene, the patient's right first (its image-left)."""
    other = partner if partner >= 0 else i
    return [other, i] if side == "left" else [i, other]


def _in_batches(predictor: Predictor, pixels: np.ndarray, size: int = 64):
    for first in range(0, len(pixels), size):
        yield from predictor.predict_batch(
            [Image.fromarray(p) for p in pixels[first : first + size]]
        )


def print_table(results: dict, args: argparse.Namespace) -> None:
    shift = f", shifted: {args.shift}" if args.shift else ""
    table = Table(
        title=f"Localisation on re-framed {args.data} ({args.model.name}{shift})"
    )
    for column in ("layout", "knees", "found", "extra", "graded whole", "centre err (med/p95)",
                   "size err", "side given/right", "acc", "QWK", "Δacc", "ΔQWK",
                   "whole-image acc/QWK", "ms"):  # fmt: skip
        table.add_column(column, justify="right")
    for layout, r in results.items():
        side = (
            f"{r['side_given']:.0%} / {r['side_accuracy']:.1%}"
            if r["side_accuracy"] is not None
            else "0%"
        )
        table.add_row(
            layout,
            str(r["knees"]),
            f"{r['detection_rate']:.1%}",
            str(r["extra_joints"]),
            str(r["graded_whole"]),
            f"{r['centre_error_median']:.3f} / {r['centre_error_p95']:.3f}",
            f"{r['size_error_median']:.3f}",
            side,
            f"{r['accuracy']:.3f}",
            f"{r['qwk']:.3f}",
            f"{100 * (r['accuracy'] - r['accuracy_original_crops']):+.1f}",
            f"{r['qwk'] - r['qwk_original_crops']:+.3f}",
            f"{r['accuracy_whole_image']:.3f} / {r['qwk_whole_image']:.3f}",
            f"{r['localise_ms_median']:.1f}",
        )
    console.print(table)
    against = (
        f"the true frames cut from the {args.shift}-shifted scenes"
        if args.shift
        else "the original crops"
    )
    console.print(
        f"Δ: against {against}, graded directly (target: within 2 points and 0.02 QWK)."
    )


if __name__ == "__main__":
    sys.exit(main())
