"""``kneegrade cv``: stratified k-fold cross-validation of one model kind."""

import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from kneegrade_ml.data.folders import scan_dataset
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.evaluation.metrics import compute_metrics, summarize_cv
from kneegrade_ml.runtime import configure_cpu
from kneegrade_ml.training.learners import learner_for
from kneegrade_ml.training.loop import SPEC_OPTIONS, TrainOptions
from kneegrade_ml.training.train import build_classifier


def cross_validate(
    kind: str,
    data: Path,
    folds: int = 10,
    options: TrainOptions = SPEC_OPTIONS,
    pretrained: Path | None = None,
    progress: bool = True,
) -> dict:
    """Accuracy (and QWK) of ``kind`` over stratified folds of ``data``'s train split.

    Images are encoded once (for MobileNetV2, its frozen trunk) and each fold trains a fresh
    model with the same seed on the other folds.
    """
    configure_cpu()
    splits = scan_dataset(data)
    samples = splits.get("train") or next(iter(splits.values()))
    start = time.perf_counter()
    encoder = learner_for(build_classifier(kind, options, pretrained), options)
    pixels, grades = load_pixels(samples, encoder.classifier.spec, progress=progress)
    X = encoder.encode(pixels, progress=progress)
    labels = grades.numpy()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=options.seed)
    accuracies, qwks = [], []
    fold_bar = tqdm(
        list(splitter.split(np.zeros(len(labels)), labels)),
        desc=f"{kind} cv",
        disable=not progress,
    )
    for train_idx, test_idx in fold_bar:
        model = learner_for(build_classifier(kind, options, pretrained), options)
        model.fit(X[train_idx], grades[train_idx], progress=False)
        metrics = compute_metrics(labels[test_idx], model.predict_proba(X[test_idx]))
        accuracies.append(metrics["accuracy"])
        qwks.append(metrics["qwk"])
        fold_bar.set_postfix(acc=f"{np.mean(accuracies):.3f}")
    return {
        "kind": kind,
        "data": str(data),
        "n": len(labels),
        **summarize_cv(accuracies),
        "qwks": qwks,
        "seconds": round(time.perf_counter() - start, 1),
    }
