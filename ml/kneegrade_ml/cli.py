"""The ``kneegrade`` console command: one entry point for every pipeline step."""

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from kneegrade_ml.bundle import ModelLoadError
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.fetch import DATASETS, fetch_dataset
from kneegrade_ml.data.folders import scan_dataset
from kneegrade_ml.data.folds import Fold
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.summary import describe_dataset
from kneegrade_ml.evaluation.compare import (
    COLUMNS,
    DESCRIPTION,
    Result,
    format_score,
    markdown_table,
    scored_on,
    table_rows,
)
from kneegrade_ml.evaluation.display import (
    confusion_table,
    labelled_table,
    metrics_table,
    plot_confusion_matrix,
)
from kneegrade_ml.evaluation.evaluate import evaluate_model
from kneegrade_ml.knees import NoKneeFound, grade_knees
from kneegrade_ml.localise.localiser import Localiser
from kneegrade_ml.models.config import HEADS, POOLS
from kneegrade_ml.models.networks import PretrainedWeightsError
from kneegrade_ml.models.registry import REGISTRY, trainable_kinds
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.preprocess import STANDARDIZATIONS
from kneegrade_ml.release import ReleaseError, release_model
from kneegrade_ml.settings import MLSettings
from kneegrade_ml.synth.dataset import SPLIT_SIZES, generate_dataset
from kneegrade_ml.training.augment import AUGMENTATIONS, POSITIONINGS
from kneegrade_ml.training.cv import cross_validate
from kneegrade_ml.training.distill import teach
from kneegrade_ml.training.ensemble import build_ensemble
from kneegrade_ml.training.loop import SPEC_OPTIONS, TrainOptions
from kneegrade_ml.training.pipeline import run_pipeline
from kneegrade_ml.training.recipes import RECIPES
from kneegrade_ml.training.train import train_model

console = Console()
errors = Console(stderr=True)
USER_ERRORS = (
    DatasetError,
    ModelLoadError,
    PretrainedWeightsError,
    ReleaseError,
    FileNotFoundError,
)


def _synth(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    sizes = {"train": args.train, "test": args.test, "samples": args.samples}
    generate_dataset(args.out, seed=args.seed, split_sizes=sizes, workers=args.workers)
    elapsed = time.perf_counter() - start
    console.print(describe_dataset(args.out))
    console.print(
        f"Wrote {args.out}/labels.csv and {args.out}/contact_sheet.png in {elapsed:.1f} s"
    )


def _data(args: argparse.Namespace) -> None:
    console.print(describe_dataset(args.path))


def _fetch_data(args: argparse.Namespace) -> None:
    result = fetch_dataset(
        args.name,
        args.out,
        source=args.source,
        url=args.url,
        sha256=args.sha256,
        variant=args.variant,
    )
    if result.sha256 is None:
        console.print(f"Copied from the folder {result.origin}; no checksum to verify")
    elif result.verified:
        console.print(f"sha256 {result.sha256} verified")
    else:
        console.print(
            f"sha256 {result.sha256} could not be verified (none is published);"
            " pass --sha256 to enforce one"
        )
    console.print(describe_dataset(result.out))
    console.print(f"Wrote {result.out}/SOURCE.md (citation and licence)")


def _options(args: argparse.Namespace) -> TrainOptions:
    """The recipe's options (``--recipe``, else the model kind's own), overridden by those
    given."""
    recipe = getattr(args, "recipe", None)
    if recipe is None:
        kind = getattr(args, "model", None)
        recipe = REGISTRY[kind].recipe if kind in REGISTRY else "spec"
    base = RECIPES[recipe]
    given = {
        field.name: getattr(args, field.name)
        for field in fields(TrainOptions)
        if getattr(args, field.name, None) is not None
    }
    if given.get("class_weight") == "none":
        given["class_weight"] = None
    return replace(base, **given)


def _pretrained(args: argparse.Namespace) -> Path | None:
    """``--pretrained``, else ``KNEEGRADE_PRETRAINED`` for the kinds it is meant for (the
    others start from the weights their packages install)."""
    if args.pretrained:
        return args.pretrained
    kind = REGISTRY.get(getattr(args, "model", None))
    takes_setting = kind is None or kind.pretrained_setting
    return MLSettings().pretrained if takes_setting else None


def _train(args: argparse.Namespace) -> None:
    card = train_model(
        args.model,
        args.data,
        args.out,
        _options(args),
        _pretrained(args),
        command=shlex.join(["kneegrade", *args.argv]),
        device=args.device,
    )
    seconds = card["training"]["seconds"]
    if card["metrics"]:
        split = card["metrics"]["split"]
        console.print(metrics_table(card["metrics"], f"{args.model} on {split}"))
    console.print(
        f"Trained {args.model} in {seconds:.1f} s; model directory {args.out}"
    )


def _teach(args: argparse.Namespace) -> None:
    samples = scan_dataset(args.data).get("train")
    if not samples:
        raise DatasetError(f"{args.data} has no train/ split to teach")
    teach(args.teachers, samples, cross_fit=args.cross_fit).save(args.out, samples)
    graded = f"{len(samples)} training images"
    if args.cross_fit:
        graded = f"each its held-out fold of the {graded}"
    console.print(
        f"{len(args.teachers)} teachers graded {graded}; wrote {args.out}"
        " (give it to kneegrade train --teachers)"
    )


def _fold(text: str) -> str:
    """``--held-out-fold``, ``--train-fold``: K/N, checked now rather than after the images
    are read."""
    try:
        Fold.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return text


def _device(name: str) -> str:
    """``--device``: a CUDA device only where torch sees one, so a run never fails late."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{name}: this machine has no CUDA GPU")
    return name


def _evaluate(args: argparse.Namespace) -> None:
    localiser = _localiser(args)
    metrics = evaluate_model(args.model, args.data, localiser=localiser)
    title = f"{metrics['kind']} on {args.data}"
    console.print(metrics_table(metrics, title))
    if "localiser" in metrics:
        found = ", ".join(
            f"{n} {what}" for what, n in metrics["localiser"]["images"].items()
        )
        console.print(f"Knees localised by {localiser.directory}: {found}")
    console.print(confusion_table(metrics))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(metrics, indent=2))
    plot = args.plot or (args.json.with_suffix(".png") if args.json else None)
    if plot:
        plot_confusion_matrix(metrics, plot, title)
    for path in filter(None, (args.json, plot)):
        console.print(f"Wrote {path}")


def _compare(args: argparse.Namespace) -> None:
    results = [_result(spec) for spec in args.models]
    rows = table_rows(results)
    described = len(DESCRIPTION)
    for title, columns in (
        ("The models", slice(1, described)),
        (f"Their scores on {scored_on(results)}", slice(described, None)),
    ):
        table = Table(title=title)
        table.add_column(COLUMNS[0])
        for column in COLUMNS[columns]:
            table.add_column(column, justify="right")
        for row in rows:
            table.add_row(row[0], *row[columns])
        console.print(table)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_table(results))
        console.print(f"Wrote {args.markdown}")


def _result(spec: str) -> Result:
    """A ``[LABEL=]MODEL_DIR`` argument's row."""
    label, _, path = spec.rpartition("=")
    return Result.from_directory(Path(path), label or None)


def _ensemble(args: argparse.Namespace) -> None:
    card = build_ensemble(
        args.models, args.data, args.out, command=shlex.join(["kneegrade", *args.argv])
    )
    metrics = card["metrics"]
    table = labelled_table(
        f"Members, on their {metrics['split']} split",
        ("member", "kind", "accuracy %", "macro F1 %", "QWK"),
    )
    for member in card["training"]["members"]:
        scores = member["metrics"]
        table.add_row(
            member["directory"],
            member["kind"],
            format_score("accuracy", scores["accuracy"]),
            format_score("f1_macro", scores["f1_macro"]),
            format_score("qwk", scores["qwk"]),
        )
    console.print(table)
    console.print(metrics_table(metrics, f"the ensemble on {metrics['split']}"))
    console.print(f"Wrote the ensemble of {len(args.models)} to {args.out}")


def _release(args: argparse.Namespace) -> None:
    card = release_model(
        args.model,
        args.data,
        args.out,
        args.version,
        args.notes,
        half=not args.fp32,
        supersedes=args.supersedes,
        int8=args.int8,
    )
    metrics = card["metrics"]
    console.print(
        metrics_table(
            metrics, f"{card['name']} {card['version']} on {metrics['split']}"
        )
    )
    table = Table(title="95 % bootstrap intervals")
    table.add_column("metric")
    table.add_column("low", justify="right")
    table.add_column("high", justify="right")
    for name, (low, high) in metrics["ci95"].items():
        table.add_row(name, f"{low:.3f}", f"{high:.3f}")
    console.print(table)
    storage = card["storage"]
    console.print(
        f"Released {card['version']} to {args.out} ({storage['dtype']} weights, "
        f"probabilities within {storage['max_probability_change_vs_float32']:.1e} of float32)"
    )
    if int8 := card["serving"].get("int8"):
        console.print(
            f"Served as int8 ({int8['file']}): {int8['grades_changed_from_float']} of"
            f" {int8['measured_on']} graded otherwise than by the float weights, which score"
            f" accuracy {int8['float_metrics']['accuracy']:.3f},"
            f" QWK {int8['float_metrics']['qwk']:.3f}"
        )


def _cv(args: argparse.Namespace) -> None:
    result = cross_validate(
        args.model, args.data, args.folds, _options(args), _pretrained(args)
    )
    table = Table(
        title=f"{args.model}: {result['folds']}-fold stratified CV, n={result['n']}"
    )
    table.add_column("fold", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("QWK", justify="right")
    for i, (acc, qwk) in enumerate(
        zip(result["accuracies"], result["qwks"], strict=True)
    ):
        table.add_row(str(i + 1), f"{acc:.3f}", "-" if qwk is None else f"{qwk:.3f}")
    table.add_section()
    mean, std = result["accuracy_mean"], result["accuracy_std"]
    table.add_row("mean ± std", f"{mean:.3f} ± {std:.3f}", "", style="bold")
    console.print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


def _predict(args: argparse.Namespace) -> None:
    predictor = Predictor(args.model, engine="onnx")  # as the server grades
    localiser = _localiser(args)
    table = Table(title=f"{predictor.kind} predictions")
    table.add_column("image", overflow="fold")
    table.add_column("knee")
    table.add_column("grade")
    for name in ("P0", "P1", "P2", "P3", "P4"):
        table.add_column(name, justify="right")
    for path in args.images:
        try:
            knees = grade_knees(predictor, localiser, read_image(path), explain=False)
        except NoKneeFound as err:
            table.add_row(str(path), str(err), "-", *"-----")
            continue
        for knee in knees:
            probabilities = (f"{p:.3f}" for p in knee.prediction.probabilities)
            where = ", ".join(f"{v:.0f}" for v in knee.joint.box[:3])
            side = knee.joint.side or "side unknown"
            table.add_row(
                str(path),
                f"{side} (x, y, size {where})",
                f"{knee.prediction.grade} {knee.prediction.name}",
                *probabilities,
            )
    console.print(table)


def _localiser(args: argparse.Namespace) -> Localiser | None:
    """The localiser ``--localiser`` names, or None with ``--whole-image``."""
    if args.whole_image:
        return None
    if not args.localiser.is_dir():
        raise DatasetError(
            f"localiser folder {args.localiser} does not exist"
            " (give --localiser DIR, or --whole-image to grade images uncropped)"
        )
    return Localiser(args.localiser)


def _train_localiser(args: argparse.Namespace) -> None:
    from kneegrade_ml.localise.training import fit_and_save

    command = "kneegrade " + shlex.join(args.argv)
    card = fit_and_save(
        args.data,
        args.out,
        args.steps,
        args.synthetic,
        args.seed,
        args.version,
        command,
        args.augment,
    )
    console.print(
        f"localiser written to {args.out} ({card['training']['seconds']:.0f} s training)"
    )


def _align(args: argparse.Namespace) -> None:
    from kneegrade_ml.localise.align import align_dataset

    counts = align_dataset(args.data, args.out, Localiser(args.localiser))
    table = Table(title=f"{args.data} aligned into {args.out}")
    table.add_column("images")
    table.add_column("count", justify="right")
    for what, n in sorted(counts.items()):
        table.add_row(what, str(n))
    console.print(table)


def _pipeline(args: argparse.Namespace) -> None:
    """One seed for the data and the models: ``--seed``, else the options' default."""
    options = _options(args)
    run_pipeline(
        args.root,
        options.seed,
        options,
        _pretrained(args),
        args.cv,
        console=console,
    )


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    defaults = SPEC_OPTIONS
    parser.add_argument("--epochs", type=int, help=f"default {defaults.epochs} (SPEC)")
    parser.add_argument(
        "--batch-size", type=int, help=f"default {defaults.batch_size} (SPEC)"
    )
    parser.add_argument(
        "--lr",
        dest="learning_rate",
        type=float,
        help=f"learning rate, default {defaults.learning_rate} (SPEC)",
    )
    parser.add_argument(
        "--class-weight",
        choices=["none", "balanced", "sqrt-balanced"],
        help="weight the loss by inverse grade frequency (or its square root); none turns"
        " off a recipe's weighting",
    )
    parser.add_argument("--seed", type=int, help=f"default {defaults.seed}")
    parser.add_argument(
        "--trees",
        dest="n_estimators",
        type=int,
        help=f"Random Forest trees, default {defaults.n_estimators}",
    )
    parser.add_argument(
        "--pretrained",
        type=Path,
        default=None,
        help="MobileNetV2 ImageNet state_dict (default: $KNEEGRADE_PRETRAINED, "
        "else torchvision's download)",
    )


def _add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """The real-radiograph levers; each overrides the ``--recipe`` value when given."""
    parser.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="starting options: the SPEC's or the real-radiograph recipe (default: the"
        " model kind's own, the SPEC's for the three SPEC models)",
    )
    parser.add_argument(
        "--trainable-from", type=int, help="MobileNetV2: first trained block (0-18)"
    )
    parser.add_argument(
        "--input-size",
        type=int,
        help="input side in pixels of a convolutional network (default: the kind's own)",
    )
    parser.add_argument("--loss", choices=["cross-entropy", "grade-distance"])
    parser.add_argument(
        "--head",
        choices=list(HEADS),
        help="the output: a logit per grade (linear) or ordered grades (corn)",
    )
    parser.add_argument(
        "--pool",
        choices=list(POOLS),
        help="how the pretrained networks pool their last feature maps: the average (avg,"
        " default) or a generalised mean whose power is learned (gem)",
    )
    parser.add_argument(
        "--distance-weight", type=float, help="weight of the expected grade distance"
    )
    parser.add_argument(
        "--soft-labels",
        type=float,
        dest="label_spread",
        metavar="SPREAD",
        help="soft ordinal labels (SORD): the target of grade y is softmax_k(-(k-y)^2/SPREAD),"
        " e.g. 0.5 puts 0.79 on y and 0.11 on each neighbour (grade-distance loss; default 0,"
        " one-hot)",
    )
    parser.add_argument("--weight-decay", type=float, help="AdamW weight decay")
    parser.add_argument("--schedule", choices=["constant", "one-cycle"])
    parser.add_argument(
        "--augment-views", type=int, help="augmented copies of each training image"
    )
    parser.add_argument(
        "--augment-online",
        action=argparse.BooleanOptionalAction,
        help="redraw the augmentation of every batch (trains on pixels; slower)",
    )
    parser.add_argument(
        "--augment",
        choices=list(AUGMENTATIONS),
        help="what augmented views vary: positioning, contrast and gamma (standard), or those"
        " and another scanner's blur, resolution, noise, sharpening and JPEG (scanner)",
    )
    parser.add_argument(
        "--positioning",
        choices=list(POSITIONINGS),
        help="how far augmented views are rotated, shifted and scaled: up to 7 degrees, 4 %%"
        " and 0.93-1.07 (standard), or 15 degrees, 8 %% and 0.85-1.15 (wide)",
    )
    parser.add_argument(
        "--erase",
        type=float,
        metavar="CHANCE",
        help="random erasing: with this chance an augmented view gets one black rectangle of"
        " 2-12 %% of its area (e.g. 0.25; default 0, off)",
    )
    parser.add_argument(
        "--standardize",
        choices=list(STANDARDIZATIONS),
        help="the histogram every image is given before the network reads it, in training"
        " and serving: as read (none, default) or equalised (equalize)",
    )
    parser.add_argument(
        "--tta-flip",
        action=argparse.BooleanOptionalAction,
        help="average the logits of the image and its mirror",
    )
    parser.add_argument(
        "--calibrate",
        action=argparse.BooleanOptionalAction,
        help="fit a temperature on the held-out split",
    )
    parser.add_argument(
        "--teachers",
        nargs="+",
        metavar="MODEL_DIR",
        help="trained models whose mean probabilities on each training image the model also"
        " learns (knowledge distillation), or one file kneegrade teach wrote of them",
    )
    parser.add_argument(
        "--distill-weight",
        type=float,
        help="the teachers' share of the loss (default 0.5)",
    )
    parser.add_argument(
        "--ema-decay",
        type=float,
        help="keep and save an exponential moving average of the weights, updated every"
        " step with this decay (e.g. 0.998; default 0, off)",
    )
    parser.add_argument(
        "--mixup",
        type=float,
        help="blend each training batch with a shuffled copy of itself, and the targets alike,"
        " by a share drawn from Beta(ALPHA, ALPHA) (e.g. 0.2; default 0, off)",
    )
    parser.add_argument(
        "--sam",
        type=float,
        dest="sam_rho",
        metavar="RHO",
        help="sharpness-aware minimisation: step with the gradient taken RHO uphill along the"
        " weights' gradient (e.g. 0.05; twice the compute per step; default 0, off)",
    )
    parser.add_argument(
        "--drop-path",
        type=float,
        metavar="RATE",
        help="stochastic depth for EfficientNet-Lite: each trained residual block is skipped"
        " with a chance rising with depth towards RATE (e.g. 0.2; default 0, off)",
    )
    parser.add_argument(
        "--linear-probe",
        action=argparse.BooleanOptionalAction,
        help="fit the grade layer alone on the pretrained features before fine-tuning"
        " (LP-FT), so the first steps do not distort them (default off)",
    )
    parser.add_argument(
        "--layer-decay",
        type=float,
        metavar="FACTOR",
        help="layer-wise learning rates: the top stage (last convolution and grade layer) peaks"
        " at --lr, each trained block below at FACTOR times the one above (e.g. 0.85;"
        " default 1, off)",
    )
    folds = parser.add_mutually_exclusive_group()
    folds.add_argument(
        "--held-out-fold",
        type=_fold,
        metavar="K/N",
        help="train without fold K of N of the train split's patients (both knees together):"
        " the teacher of fold K for kneegrade teach --cross-fit",
    )
    folds.add_argument(
        "--train-fold",
        type=_fold,
        metavar="K/N",
        help="train on fold K of N of the train split's patients alone (both knees together):"
        " a point of a learning curve, e.g. 0/4 for a quarter of the patients",
    )


def _add_localiser_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--localiser",
        type=Path,
        default=Path("localiser"),
        help="find and crop each image's knees first, as the API does (default: localiser)",
    )
    parser.add_argument(
        "--whole-image",
        action="store_true",
        help="grade every image whole (for crops made beforehand; skips the localiser)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``kneegrade <subcommand> ...``."""
    parser = argparse.ArgumentParser(
        prog="kneegrade", description="Kellgren-Lawrence grading of knee radiographs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    kinds = trainable_kinds()

    synth = commands.add_parser("synth", help="generate the seeded synthetic data set")
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    for split, per_grade in SPLIT_SIZES.items():
        synth.add_argument(
            f"--{split}",
            type=int,
            default=per_grade,
            metavar="N",
            help=f"{split} images per grade (default {per_grade})",
        )
    synth.add_argument(
        "--workers", type=int, default=None, help="processes (default: all cores)"
    )
    synth.set_defaults(run=_synth)

    data = commands.add_parser("data", help="count the images per split and grade")
    data.add_argument("path", type=Path, help="a split folder or a data set root")
    data.set_defaults(run=_data)

    fetch = commands.add_parser(
        "fetch-data", help="download a public real data set into split/grade folders"
    )
    fetch.add_argument("name", choices=list(DATASETS), help="which data set")
    fetch.add_argument("--out", type=Path, required=True, help="new or empty folder")
    fetch.add_argument(
        "--source",
        type=Path,
        default=None,
        help="a local .zip/.tar(.gz) or unpacked folder instead of downloading",
    )
    fetch.add_argument("--url", default=None, help="download from here instead")
    fetch.add_argument(
        "--sha256", default=None, metavar="HEX", help="refuse an archive that differs"
    )
    fetch.add_argument(
        "--variant",
        default=None,
        choices=sorted({v for entry in DATASETS.values() for v in entry.variants}),
        help="which set of split folders to copy (chen2018: kneeKL224, the default, or"
        " the 299 px kneeKL299)",
    )
    fetch.set_defaults(run=_fetch_data)

    train = commands.add_parser("train", help="train one model and write its directory")
    train.add_argument("--model", choices=kinds, required=True)
    train.add_argument(
        "--data", type=Path, required=True, help="folder with train/ (val/)"
    )
    train.add_argument(
        "--out", type=Path, required=True, help="model directory to write"
    )
    train.add_argument(
        "--device",
        type=_device,
        default="cpu",
        help="where the network trains: cpu (default), or cuda where there is a GPU",
    )
    _add_training_options(train)
    _add_recipe_options(train)
    train.set_defaults(run=_train)

    teaching = commands.add_parser(
        "teach",
        help="grade the training images with teachers once, for distilling several models",
    )
    teaching.add_argument(
        "--teachers", nargs="+", type=Path, required=True, metavar="MODEL_DIR"
    )
    teaching.add_argument(
        "--data", type=Path, required=True, help="the data set with train/"
    )
    teaching.add_argument(
        "--out", type=Path, required=True, help="the teaching file (.json) to write"
    )
    teaching.add_argument(
        "--cross-fit",
        action="store_true",
        help="teacher K of N grades only fold K, the patients it was trained without"
        " (kneegrade train --held-out-fold K/N)",
    )
    teaching.set_defaults(run=_teach)

    ensemble = commands.add_parser(
        "ensemble",
        help="grade with several trained models as one: an ensemble model directory",
    )
    ensemble.add_argument(
        "models", nargs="+", type=Path, metavar="MODEL_DIR", help="trained networks"
    )
    ensemble.add_argument(
        "--data", type=Path, required=True, help="the data set they were trained on"
    )
    ensemble.add_argument(
        "--out", type=Path, required=True, help="model directory to write"
    )
    ensemble.set_defaults(run=_ensemble)

    release = commands.add_parser(
        "release", help="version a trained model: card, metrics with intervals, sha256"
    )
    release.add_argument("--model", type=Path, required=True, help="trained model dir")
    release.add_argument(
        "--data", type=Path, required=True, help="the data set it was trained on"
    )
    release.add_argument("--out", type=Path, required=True, help="release directory")
    release.add_argument(
        "--version", required=True, help="semantic version, e.g. 1.0.0"
    )
    release.add_argument("--notes", required=True, help="the changelog entry")
    release.add_argument(
        "--supersedes",
        type=Path,
        help="the earlier release (another directory) this one replaces; its changelog continues",
    )
    release.add_argument(
        "--fp32", action="store_true", help="store float32 weights (default float16)"
    )
    release.add_argument(
        "--int8",
        action="store_true",
        help="also quantise the network to int8 for ONNX Runtime, which then serves it where"
        " int8 arithmetic is exact (x86 with VNNI, or not x86; refused elsewhere)",
    )
    release.set_defaults(run=_release)

    evaluate = commands.add_parser(
        "evaluate", help="score a model on a labelled folder"
    )
    evaluate.add_argument("--model", type=Path, required=True, help="model directory")
    evaluate.add_argument(
        "--data", type=Path, required=True, help="folder of grades 0-4"
    )
    _add_localiser_options(evaluate)
    evaluate.add_argument("--json", type=Path, default=None, help="write metrics here")
    evaluate.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="confusion matrix PNG (default: beside --json)",
    )
    evaluate.set_defaults(run=_evaluate)

    compare = commands.add_parser(
        "compare",
        help="a results table of trained models from their cards, seeds summarised",
    )
    compare.add_argument(
        "models",
        nargs="+",
        metavar="[LABEL=]MODEL_DIR",
        help="model directories; runs of one recipe that differ only in --seed are"
        " also shown as a mean and standard deviation",
    )
    compare.add_argument(
        "--markdown", type=Path, default=None, help="also write the table here"
    )
    compare.set_defaults(run=_compare)

    cv = commands.add_parser("cv", help="stratified k-fold cross-validation")
    cv.add_argument("--model", choices=kinds, required=True)
    cv.add_argument("--data", type=Path, required=True, help="folder with train/")
    cv.add_argument("--folds", type=int, default=10)
    cv.add_argument("--json", type=Path, default=None, help="write the summary here")
    _add_training_options(cv)
    cv.set_defaults(run=_cv)

    predict = commands.add_parser("predict", help="grade images with a model directory")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument("images", type=Path, nargs="+")
    _add_localiser_options(predict)
    predict.set_defaults(run=_predict)

    localiser = commands.add_parser(
        "train-localiser", help="train the knee-joint localiser on framed crops"
    )
    localiser.add_argument(
        "--data", type=Path, default=None, help="a real split of single-knee crops"
    )
    localiser.add_argument("--out", type=Path, required=True, help="directory to write")
    localiser.add_argument("--steps", type=int, default=1000, help="batches of 32")
    localiser.add_argument(
        "--synthetic", type=int, default=1000, help="synthetic knees to render"
    )
    localiser.add_argument("--seed", type=int, default=0)
    localiser.add_argument("--version", default="1.0.0")
    localiser.add_argument(
        "--augment",
        choices=list(AUGMENTATIONS),
        default="standard",
        help="what the scenes vary: framing, mirror and exposure (standard), or those and,"
        " for half the scenes, another scanner's blur, resolution, noise, sharpening and"
        " JPEG (scanner)",
    )
    localiser.set_defaults(run=_train_localiser)

    align = commands.add_parser(
        "align",
        help="copy a graded folder with every knee cropped to one frame and side",
    )
    align.add_argument("--data", type=Path, required=True, help="folder of splits")
    align.add_argument("--out", type=Path, required=True, help="folder to write")
    align.add_argument("--localiser", type=Path, default=Path("localiser"))
    align.set_defaults(run=_align)

    pipeline = commands.add_parser(
        "pipeline", help="synthetic data, all three models, test metrics, comparison"
    )
    pipeline.add_argument("--root", type=Path, default=Path("artifacts"))
    pipeline.add_argument(
        "--cv", type=int, default=0, metavar="K", help="also K-fold CV"
    )
    _add_training_options(pipeline)
    pipeline.set_defaults(run=_pipeline)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; bad data or models end with a one-line message and exit status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        args.run(args)
    except USER_ERRORS as err:
        errors.print(f"error: {err}", style="red", markup=False, soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
