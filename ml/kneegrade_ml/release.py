"""``kneegrade release``: turn a trained model directory into a versioned, self-describing release.

The release re-measures the model as it will be served (half-precision weights, flip averaging,
calibrated), with 95 % bootstrap intervals, and writes a card that says what the model is for,
what it learned from, where it fails and how it was made: the model card a clinician, an
integrator or a reviewer reads (``model.json``, and the same as ``README.md``).
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from kneegrade_ml.bundle import CARD_FILE, file_record, load_bundle, read_card
from kneegrade_ml.data.folders import scan_dataset
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.data.source import dataset_record
from kneegrade_ml.evaluation.metrics import (
    bootstrap_intervals,
    compute_metrics,
    expected_calibration_error,
)
from kneegrade_ml.grades import GRADES, grade_name
from kneegrade_ml.modelcard import SEMVER
from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.outputs import softmax_with_temperature
from kneegrade_ml.models.registry import display_name
from kneegrade_ml.onnx_engine import OnnxForward
from kneegrade_ml.quantize import (
    INT8_FILE,
    calibration_samples,
    int8_record,
    quantize_network,
)
from kneegrade_ml.runtime import configure_cpu, exact_int8_kernels
from kneegrade_ml.training.calibration import cross_fitted_probabilities
from kneegrade_ml.training.train import held_out_split

README_FILE = "README.md"
FLOAT_SUMMARY = ("accuracy", "f1_macro", "qwk", "mae", "ece")
"""The float weights' figures an int8 release keeps beside its own."""
HALF_TOLERANCE = 1e-3
"""Largest change in any probability that half-precision storage may cause; else float32."""


class ReleaseError(ValueError):
    """A release that cannot be made as asked: the message says why."""


INTENDED_USE = (
    "Decision support for Kellgren-Lawrence grading of a single knee on an AP/PA radiograph"
    " crop, in adults. Not a diagnosis: a clinician reads the image and decides the grade."
)


UNUSED = (
    "not used (no training, no choice of recipe, no calibration): kept back for an independent"
    " check of this model"
)


def data_use(card: dict, held_out: str) -> dict[str, str]:
    """What each split of the data set did for this model, for a reader judging its metrics: the
    held-out split also chose the recipe and fitted the temperature, so its figures are optimistic."""
    trained_on = sum(card["training"]["counts"]["train"].values())
    use = {
        "train": f"fitted the weights ({trained_on:,} images)",
        held_out: (
            "chose the recipe among the variants tried, fitted the calibration temperature and"
            " gave the metrics in this card (so they are somewhat optimistic); never trained on"
        ),
    }
    for split in ("val", "test"):
        use.setdefault(split, UNUSED)
    return use


def _save_weights(classifier: TorchClassifier, path: Path, half: bool) -> None:
    state = classifier.network.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, path)


def _store(
    classifier: TorchClassifier,
    card: dict,
    out: Path,
    pixels: torch.Tensor,
    reference: np.ndarray,
    half: bool,
) -> tuple[TorchClassifier, np.ndarray, float]:
    """Write the weights (float16 when ``half``) with a provisional card, load them back as the
    server will, and return them, their logits and the largest change of any probability."""
    weights = out / classifier.weights_file
    _save_weights(classifier, weights, half)
    (out / CARD_FILE).write_text(
        _json({**card, "files": {weights.name: file_record(weights)}})
    )
    served, _ = load_bundle(out)
    logits = served.pixel_logits(pixels).numpy()
    t = classifier.config.temperature
    change = softmax_with_temperature(logits, t) - softmax_with_temperature(
        reference, t
    )
    return served, logits, float(np.abs(change).max())


def _store_int8(
    served: TorchClassifier,
    data: Path,
    out: Path,
    held_out: tuple[torch.Tensor, np.ndarray],
    float_logits: np.ndarray,
    progress: bool,
) -> tuple[np.ndarray, dict]:
    """Quantise the stored network on seeded training images, write it beside the weights and
    return its held-out logits and its card record, with what it changed from float."""
    calibration = calibration_samples(scan_dataset(data)["train"])
    calibration_pixels, _ = load_pixels(
        calibration, served.spec, "calibrating int8", progress
    )
    model = quantize_network(served, calibration_pixels)
    (out / INT8_FILE).write_bytes(model)
    forward = OnnxForward(served, model)
    pixels, labels = held_out
    logits = served.pixel_logits(pixels, forward=forward).numpy()
    t = served.config.temperature
    float_metrics = compute_metrics(labels, softmax_with_temperature(float_logits, t))
    return logits, {
        **int8_record(served, forward, calibration),
        "grades_changed_from_float": int(
            (logits.argmax(1) != float_logits.argmax(1)).sum()
        ),
        "float_metrics": {k: float_metrics[k] for k in FLOAT_SUMMARY},
        "measured_on": f"{len(labels)} held-out images",
    }


def confusions(confusion: list[list[int]], top: int = 3) -> list[str]:
    """The ``top`` most frequent wrong grades, as sentences for the limitations."""
    matrix = np.asarray(confusion)
    pairs = [
        (int(matrix[t, p]), t, p)
        for t in GRADES
        for p in GRADES
        if t != p and matrix[t, p]
    ]
    return [
        f"Grades KL {t} ({grade_name(t)}) as KL {p} ({grade_name(p)}): {n} of "
        f"{int(matrix[t].sum())} KL {t} images in the validation split."
        for n, t, p in sorted(pairs, reverse=True)[:top]
    ]


def limitations(dataset: dict | None, metrics: dict, input_size: int) -> list[str]:
    """What the model cannot be trusted with, from its data and its own errors."""
    population = (dataset or {}).get("population")
    notes = [
        f"Trained on {population}; other populations, scanners and exposures are untested."
        if population
        else "Trained on one data set; other populations and scanners are untested.",
        (
            f"Expects a square crop centred on one knee joint, AP/PA view, as in training"
            f" ({input_size}x{input_size} px): wider crops, both knees or full-leg images are"
            " squashed to a square and grade worse. Lateral views are out of scope."
        ),
        (
            "KL 1 (Doubtful) is the least reliable grade, as between human readers"
            f" (recall {metrics['per_class']['1']['recall']:.0%} on validation)."
        ),
        *confusions(metrics["confusion_matrix"]),
        (
            "Probabilities are calibrated on the validation split (temperature scaling);"
            " an uncertain grade is flagged for review, which the clinician should follow."
        ),
    ]
    return notes


def release_model(
    trained: Path,
    data: Path,
    out: Path,
    version: str,
    notes: str,
    half: bool = True,
    progress: bool = True,
    supersedes: Path | None = None,
    int8: bool = False,
) -> dict:
    """Write the release of ``trained`` to ``out`` (version ``version``, changelog ``notes``).

    ``int8`` also writes the network quantised for ONNX Runtime, which the server then runs: the
    card's metrics are then the int8 network's, the float weights' kept beside them.

    ``supersedes`` is the earlier release when it lives in another directory (a new
    backbone gets a new id): its changelog continues here, so the version line stays readable.
    A new version in the same directory keeps what its id superseded.
    """
    if not SEMVER.match(version):
        raise ReleaseError(f"version must be semantic (e.g. 1.2.0), got {version!r}")
    if supersedes is not None and not (supersedes / CARD_FILE).is_file():
        raise ReleaseError(f"{supersedes} holds no release to supersede")
    if int8 and not exact_int8_kernels():
        raise ReleaseError(
            "--int8 needs a CPU whose int8 arithmetic is exact (x86 with VNNI, or not"
            " x86): on this one ONNX Runtime's products saturate, so the card's figures and"
            " check answers would not be what a server computes"
        )
    configure_cpu()
    classifier, card = load_bundle(trained)
    if not isinstance(classifier, TorchClassifier):
        raise ReleaseError(f"{card['kind']} models are not released (networks only)")
    split, samples = held_out_split(card, data)
    pixels, labels = load_pixels(samples, classifier.spec, progress=progress)
    labels = labels.numpy()
    reference = classifier.pixel_logits(pixels).numpy()
    temperature = classifier.config.temperature

    earlier = supersedes if supersedes is not None else out
    before = read_card(earlier) if (earlier / CARD_FILE).is_file() else {}
    out.mkdir(parents=True, exist_ok=True)
    weights = out / classifier.weights_file
    served, logits, drift = _store(classifier, card, out, pixels, reference, half)
    half_drift = drift if half else None
    if half and drift > HALF_TOLERANCE:
        half = False
        served, logits, drift = _store(classifier, card, out, pixels, reference, half)
    files = {weights.name: file_record(weights)}
    serving = {}
    if int8:
        logits, serving["int8"] = _store_int8(
            served, data, out, (pixels, labels), logits, progress
        )
        files[INT8_FILE] = file_record(out / INT8_FILE)
    else:
        (out / INT8_FILE).unlink(missing_ok=True)
    probabilities = softmax_with_temperature(logits, temperature)

    dataset = dataset_record(data)
    metrics = {"split": split, **compute_metrics(labels, probabilities)}
    metrics["ci95"] = bootstrap_intervals(labels, probabilities)
    released = {
        **card,
        "name": f"KneeGrade KL {display_name(card['kind'])}",
        "version": version,
        "config": classifier.config.to_dict(),
        "changelog": _changelog(version, notes, before.get("changelog") or {}),
        "intended_use": INTENDED_USE,
        "limitations": limitations(dataset, metrics, classifier.spec.size),
        "training": {**card["training"], "dataset": dataset},
        "data_use": data_use(card, split),
        "metrics": metrics,
        "calibration": {
            **(card.get("calibration") or {}),
            "split": split,
            "temperature": temperature,
            "ece_before": expected_calibration_error(
                labels, softmax_with_temperature(logits, 1.0)
            ),
            "ece_after": metrics["ece"],
            "ece_after_cross_fitted": expected_calibration_error(
                labels, cross_fitted_probabilities(logits, labels)
            ),
        },
        "files": files,
        "serving": serving,
        "storage": {
            "dtype": "float16" if half else "float32",
            "max_probability_change_vs_float32": drift,
            "float16_max_probability_change": half_drift,
            "float16_tolerance": HALF_TOLERANCE,
            "measured_on": f"{split} split ({len(labels)} images)",
        },
        "release": {
            "released": datetime.now(UTC).isoformat(timespec="seconds"),
            "from": str(Path(trained).resolve()),
            "supersedes": _superseded(supersedes, before),
        },
    }
    (out / CARD_FILE).write_text(_json(released))
    (out / README_FILE).write_text(card_markdown(released))
    return released


def _changelog(version: str, notes: str, earlier: dict[str, str]) -> dict[str, str]:
    """``notes`` as the newest entry; a version released again replaces its own older entry."""
    return {version: notes, **{v: n for v, n in earlier.items() if v != version}}


def _superseded(directory: Path | None, card: dict) -> dict | None:
    """The release in another directory that this one replaces, by model id and version; for a
    new version in the same directory (``card`` its last one), what that version replaced."""
    if directory is None:
        return (card.get("release") or {}).get("supersedes")
    return {
        "id": directory.name,
        "name": card.get("name"),
        "version": card.get("version"),
    }


def _json(card: dict) -> str:
    return json.dumps(card, indent=2) + "\n"


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _interval(metrics: dict, name: str, scale: float = 100.0, digits: int = 1) -> str:
    low, high = metrics["ci95"].get(name, (None, None))
    if low is None:
        return ""
    return f" (95 % CI {scale * low:.{digits}f}-{scale * high:.{digits}f})"


def _storage(storage: dict) -> str:
    """Which precision the weights are stored in, and why."""
    half = storage.get("float16_max_probability_change")
    if storage["dtype"] == "float16":
        return f"float16: probabilities within {half:.1e} of float32"
    if half is None:
        return "float32"
    return (
        f"float32: float16 changed a probability by up to {half:.3f}, above the"
        f" {storage['float16_tolerance']} allowed"
    )


def _digests(files: dict) -> str:
    return ", ".join(
        f"`{name}` sha256 {record['sha256']}" for name, record in files.items()
    )


def card_markdown(card: dict) -> str:
    """The card as a page a person reads: the same facts as ``model.json``."""
    m = card["metrics"]
    training = card["training"]
    dataset = training.get("dataset") or {}
    source = training.get("source") or {}
    calibration = card.get("calibration") or {}
    recalls = " / ".join(f"{_pct(m['per_class'][str(g)]['recall'])}" for g in GRADES)
    lines = [
        f"# {card['name']} {card['version']}",
        "",
        f"**Intended use.** {card['intended_use']}",
        "",
        f"**Architecture.** {card['architecture']}",
        "",
        "## Limitations",
        "",
        *(f"- {note}" for note in card["limitations"]),
        "",
        "## Training data",
        "",
        (
            f"- {dataset.get('title', 'unrecorded')} ({dataset.get('kind', '?')} images);"
            f" licence {dataset.get('licence', 'unrecorded')}"
        ),
        f"- Citation: {dataset.get('citation', 'unrecorded')}",
        f"- Images: {dataset.get('population', 'population unrecorded')}",
        *(f"- {split} split: {use}." for split, use in card["data_use"].items()),
        "",
        f"## Metrics on the {m['split']} split ({m['n']} images, as served)",
        "",
        "| metric | value |",
        "|---|---|",
        f"| accuracy | {_pct(m['accuracy'])}{_interval(m, 'accuracy')} |",
        f"| macro F1 | {_pct(m['f1_macro'])}{_interval(m, 'f1_macro')} |",
        f"| QWK | {m['qwk']:.3f}{_interval(m, 'qwk', 1, 3)} |",
        f"| MAE (grades) | {m['mae']:.3f}{_interval(m, 'mae', 1, 3)} |",
        f"| recall KL 0/1/2/3/4 | {recalls} |",
        (
            f"| ECE before / after calibration | {calibration.get('ece_before', 0):.3f} /"
            f" {calibration.get('ece_after', 0):.3f} (cross-fitted"
            f" {calibration.get('ece_after_cross_fitted', 0):.3f}; temperature"
            f" {calibration.get('temperature', 1):.2f}) |"
        ),
        "",
        "95 % intervals: percentile bootstrap over the images (1,000 resamples).",
        *_int8_markdown((card.get("serving") or {}).get("int8")),
        "",
        "## How it was made",
        "",
        f"- Command: `{training.get('command') or 'unrecorded'}`",
        f"- Source commit: {source.get('commit', 'unrecorded')}"
        + (" (with uncommitted changes)" if source.get("dirty") else ""),
        f"- Training time: {training.get('seconds', 0) / 60:.1f} min"
        + (f" on {training['hardware']}" if training.get("hardware") else ""),
        f"- Weights: {_digests(card['files'])} ({_storage(card['storage'])})",
        *_starting_weights(training.get("pretrained")),
        "",
        "## Changelog",
        "",
        *_superseded_markdown(card["release"].get("supersedes")),
        *(f"- {version}: {note}" for version, note in card["changelog"].items()),
        "",
    ]
    return "\n".join(lines)


def _starting_weights(pretrained: dict | None) -> list[str]:
    """Where the ImageNet weights it was fine-tuned from came from, and under which licence."""
    if not pretrained:
        return []
    file = f" `{pretrained['file']}`" if pretrained.get("file") else ""
    licence = f"; licence {pretrained['licence']}" if pretrained.get("licence") else ""
    source = pretrained.get("source", "unrecorded")
    return [
        f"- Starting weights: {source},{file} sha256 {pretrained.get('sha256')}{licence}"
    ]


def _int8_markdown(int8: dict | None) -> list[str]:
    """How the served int8 network differs from the float weights, under the metrics."""
    if not int8:
        return []
    f = int8["float_metrics"]
    calibration = int8["calibration"]
    return [
        "",
        (
            f"Served as an int8 network on ONNX Runtime ({int8['file']}: {int8['method']};"
            f" ranges from {calibration['images']} seeded {calibration['split']} images and"
            f" their mirrors). It grades {int8['grades_changed_from_float']} of the"
            f" {int8['measured_on']} otherwise than the float weights, which score accuracy"
            f" {_pct(f['accuracy'])}, macro F1 {_pct(f['f1_macro'])}, QWK {f['qwk']:.3f},"
            f" MAE {f['mae']:.3f}, ECE {f['ece']:.3f}. The float weights serve where int8"
            " arithmetic saturates (x86 without VNNI) or a CPU answers the check images"
            " otherwise."
        ),
    ]


def _superseded_markdown(superseded: dict | None) -> list[str]:
    """The line naming the release this one replaced under another id, if any."""
    if superseded is None:
        return []
    release = f"{superseded['name']} {superseded['version']}"
    return [f"Supersedes {release} (model id `{superseded['id']}`).", ""]
