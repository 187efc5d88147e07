"""Classification metrics for KL-grade predictions, returned as plain JSON-ready dicts."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    mean_absolute_error,
    precision_recall_fscore_support,
)

from kneegrade_ml.grades import GRADES, grade_name

LABELS = list(GRADES)


def _validate(
    y_true: Sequence[int] | np.ndarray, probabilities: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and labels up front so sklearn never sees (or silently accepts) bad input."""
    y = np.asarray(y_true)
    probs = np.asarray(probabilities, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}")
    if len(y) == 0:
        raise ValueError("cannot compute metrics on zero samples")
    if probs.ndim != 2 or probs.shape[1] != len(GRADES):
        raise ValueError(
            f"probabilities must have shape (n, {len(GRADES)}), got {probs.shape}"
        )
    if len(y) != len(probs):
        raise ValueError(
            f"y_true has {len(y)} labels but probabilities has {len(probs)} rows"
        )
    if y.dtype.kind not in "iu":
        raise ValueError(f"y_true must hold integer KL grades, got dtype {y.dtype}")
    bad = np.unique(y[~np.isin(y, LABELS)])
    if bad.size:
        raise ValueError(f"y_true holds labels outside {GRADES}: {bad.tolist()}")
    return y.astype(int), probs


def expected_calibration_error(
    y_true: Sequence[int] | np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> float:
    """ECE over ``bins`` equal-width confidence bins (lo, hi]: how far confidence strays from accuracy."""
    y, probs = _validate(y_true, probabilities)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.digitize(confidence, edges[1:-1], right=True)
    count = np.bincount(which, minlength=bins)
    acc_sum = np.bincount(which, weights=correct, minlength=bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    used = count > 0
    gap = np.abs(acc_sum[used] - conf_sum[used]) / count[used]
    return float(np.sum(gap * count[used]) / len(y))


def mean_grades(probabilities: np.ndarray) -> np.ndarray:
    """The expected grade, sum of k * p(k), unrounded: what the ordinal decodings cut."""
    return np.asarray(probabilities, dtype=float) @ np.arange(len(GRADES))


def expected_grades(probabilities: np.ndarray) -> np.ndarray:
    """The ordinal decoding: the expected grade rounded to the nearest grade.
    It never jumps past the middle of the mass, so it trades some exact hits for fewer far misses."""
    return np.clip(np.rint(mean_grades(probabilities)), 0, len(GRADES) - 1).astype(int)


def median_grades(probabilities: np.ndarray) -> np.ndarray:
    """The other ordinal decoding: the median grade, the first whose cumulative probability
    reaches one half. It minimises the expected absolute error, between argmax and the mean."""
    cumulative = np.cumsum(np.asarray(probabilities, dtype=float), axis=1)
    return np.minimum((cumulative < 0.5).sum(axis=1), len(GRADES) - 1)


def compute_metrics(
    y_true: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    predicted: np.ndarray | None = None,
) -> dict:
    """All headline metrics, as plain floats/ints so the dict dumps to JSON, for ``predicted``
    grades (by default the argmax; ``expected_grades`` and ``median_grades`` are the ordinal
    decodings). ECE is always that of the argmax's confidence.

    Macro averages run over all five grades (sklearn, ``zero_division=0``), so a grade absent
    from both labels and predictions counts as 0 there. ``qwk`` is None when it is undefined
    (a single grade in labels and predictions alike); ``per_class_accuracy`` is None for a
    grade with no support.
    """
    y, probs = _validate(y_true, probabilities)
    pred = (
        probs.argmax(axis=1) if predicted is None else np.asarray(predicted, dtype=int)
    )
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=LABELS, zero_division=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        qwk = float(cohen_kappa_score(y, pred, weights="quadratic", labels=LABELS))
    return {
        "n": len(y),
        "accuracy": float(accuracy_score(y, pred)),
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "qwk": None if math.isnan(qwk) else qwk,
        "mae": float(mean_absolute_error(y, pred)),
        "ece": expected_calibration_error(y, probs),
        "per_class": {
            str(g): {
                "name": grade_name(g),
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, g in enumerate(GRADES)
        },
        "per_class_accuracy": [
            float(r) if s > 0 else None for r, s in zip(recall, support, strict=True)
        ],
        "confusion_matrix": confusion_matrix(y, pred, labels=LABELS).tolist(),
    }


def summarize_cv(fold_accuracies: Sequence[float]) -> dict:
    """Mean and population std (``np.std``, ddof=0) of per-fold accuracies, for a CV report."""
    acc = np.asarray(fold_accuracies, dtype=float)
    if acc.ndim != 1 or len(acc) == 0:
        raise ValueError("fold_accuracies must be a non-empty 1-D sequence")
    return {
        "folds": len(acc),
        "accuracy_mean": float(np.mean(acc)),
        "accuracy_std": float(np.std(acc)),
        "accuracies": [float(a) for a in acc],
    }


def bootstrap_intervals(
    y_true: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Percentile bootstrap intervals of the headline metrics over images drawn with replacement.

    Says how far a figure on a few hundred images could move on another draw of the same kind.
    """
    y, probs = _validate(y_true, probabilities)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        idx = rng.integers(0, len(y), len(y))
        m = compute_metrics(y[idx], probs[idx])
        values = {
            "accuracy": m["accuracy"],
            "f1_macro": m["f1_macro"],
            "qwk": m["qwk"],
            "mae": m["mae"],
            "ece": m["ece"],
            **{
                f"recall_{g}": m["per_class"][str(g)]["recall"]
                for g in GRADES
                if m["per_class"][str(g)]["support"]
            },
        }
        for name, value in values.items():
            if value is not None:
                draws.setdefault(name, []).append(value)
    tail = 100 * (1 - level) / 2
    return {
        name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))]
        for name, v in draws.items()
    }
