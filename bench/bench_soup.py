"""Model soups: the weights of several fine-tuned runs averaged into one model (Wortsman et al.,
2022), scored on a labelled split against the runs themselves.

An ensemble averages its members' probabilities and costs all their passes; a soup averages their
weights and costs one model's. It can only work for runs that start from the same weights: here
the frozen ImageNet blocks are shared by every run, but each seed draws its own initial head, so
the bench prints how alike the runs' heads are (cosine similarity) and only runs of one seed make
a model. The BatchNorm layers the runs trained are re-estimated on a seeded sample of train images
(an average of running statistics is not the statistics of the averaged network); the frozen ones
keep their ImageNet statistics. Every run and the soup, before and after that re-estimation, are
graded whole on the split with the first run's flip averaging and temperature and scored by the
argmax; nothing is fitted on the split.

Run: `.venv/bin/python bench/bench_soup.py --model models/efficientnet-lite2-chen2018 DIR ...`.
"""

import argparse
import json
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from torch import nn

from kneegrade_ml.bundle import load_bundle
from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.evaluation.display import labelled_table
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.runtime import configure_cpu

DATA = Path("../shared/data/knee-kl-chen2018")
RESULTS = Path("artifacts/bench/soup.json")


def averaged(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of each floating-point tensor; counters are taken from the first state."""
    return {
        key: torch.stack([s[key] for s in states]).mean(0)
        if first.is_floating_point()
        else first
        for key, first in states[0].items()
    }


def trained_norms(classifier: TorchClassifier) -> list[nn.Module]:
    """The BatchNorm layers of the part the runs trained (``parts``); the frozen trunk's are
    ImageNet's in every run."""
    _, trained = classifier.parts()
    return [
        m for m in trained.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]


@torch.no_grad()
def reestimate(
    classifier: TorchClassifier, norms: list[nn.Module], pixels: torch.Tensor
) -> None:
    """Running statistics of ``norms`` recomputed as plain averages over ``pixels``."""
    network = classifier.network
    network.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    for first in range(0, len(pixels), 100):
        network(classifier.network_input(pixels[first : first + 100]))
    network.eval()


def head_similarity(states: list[dict[str, torch.Tensor]]) -> np.ndarray:
    """Cosine similarity of every pair of runs' output-layer weights (the last matrix)."""
    head = [key for key, value in states[0].items() if value.ndim == 2][-1]
    heads = torch.stack([s[head].flatten() for s in states])
    heads = heads / heads.norm(dim=1, keepdim=True)
    return (heads @ heads.T).numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, nargs="+", required=True)
    parser.add_argument("--data", type=Path, default=DATA, help="has train/ and val/")
    parser.add_argument("--bn-images", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not (args.data / "train").is_dir() or not (args.data / "val").is_dir():
        print(f"no train/ and val/ under {args.data}: pass --data", file=sys.stderr)
        return 2
    configure_cpu()
    console = Console(width=130)
    classifiers = [load_bundle(model)[0] for model in args.model]
    if len({(c.kind, replace(c.config, temperature=1.0)) for c in classifiers}) > 1:
        print("the runs differ in kind or configuration: no soup", file=sys.stderr)
        return 2
    states = [c.network.state_dict() for c in classifiers]
    similarity = head_similarity(states)
    console.print(
        "head cosine similarity:\n" + np.array2string(similarity, precision=2)
    )
    samples = scan_split(args.data / "val")
    grades = np.array([s.grade for s in samples])
    pixels, _ = load_pixels(samples, classifiers[0].spec, desc="val")
    probabilities = {
        str(model): c.predict_pixels(pixels)
        for model, c in zip(args.model, classifiers, strict=True)
    }
    soup = classifiers[0]
    norms = trained_norms(soup)
    soup.network.load_state_dict(averaged(states))
    probabilities["soup, statistics averaged"] = soup.predict_pixels(pixels)
    train = random.Random(0).sample(scan_split(args.data / "train"), args.bn_images)
    reestimate(soup, norms, load_pixels(train, soup.spec, desc="train sample")[0])
    probabilities[f"soup, {len(norms)} BatchNorms re-estimated"] = soup.predict_pixels(
        pixels
    )
    rows = {name: compute_metrics(grades, p) for name, p in probabilities.items()}
    table = labelled_table(
        f"{args.data / 'val'} ({len(grades)} images, graded whole)",
        ("model", "accuracy", "QWK", "macro-F1", "KL 1 recall", "ECE"),
    )
    for name, m in rows.items():
        table.add_row(
            name,
            f"{m['accuracy']:.1%}",
            f"{m['qwk']:.3f}",
            f"{m['f1_macro']:.1%}",
            f"{m['per_class']['1']['recall']:.1%}",
            f"{m['ece']:.3f}",
        )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"head_similarity": similarity.tolist(), "results": rows}, indent=2)
    )
    console.print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
