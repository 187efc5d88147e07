"""GPU sweep of MobileNetV2 fine-tuning depth and length on real radiographs (README, "Real").

Each variant trains with the real recipe's levers (ordinal loss, sqrt class weights, one-cycle
AdamW, a fresh augmentation of every batch) from a given block, and is scored on val with flip
averaging. It runs the package's own training loop (``kneegrade_ml.training``) with the network
on ``--device`` (CUDA, TF32, by default); augmentation is drawn on the CPU, batch by batch.

  python bench/real_sweep_gpu.py pack --data ../shared/data/knee-kl-chen2018 --out .gpu/data.pkl
  python bench/real_sweep_gpu.py sweep --pack .gpu/data.pkl --pretrained W.pth --out results/

  python bench/real_sweep_gpu.py score --weights results/full_e15.pt --trainable-from 0 \
      --data ../shared/data/knee-kl-chen2018/val

``pack`` stores train and val as JPEG (quality 87) in one file, small enough to send to a rented
GPU machine; the README's GPU rows come from such a pack. Figures print per epoch and are saved to
``OUT/results.json``; ``--save`` names variants whose weights are kept (fp16, ``OUT/<name>.pt``),
which ``score`` rates on the original val images, on the CPU.
"""

import argparse
import io
import json
import pickle
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, recall_score

from kneegrade_ml.data.folders import IMAGE_SUFFIXES
from kneegrade_ml.data.images import read_image
from kneegrade_ml.grades import GRADES
from kneegrade_ml.models.registry import create_classifier
from kneegrade_ml.preprocess import IMAGENET_RGB_224
from kneegrade_ml.training.learners import learner_for
from kneegrade_ml.training.loop import TrainOptions
from kneegrade_ml.training.train import build_classifier, model_config

JPEG_QUALITY = 87
VARIANTS = {
    # name: (trainable_from, epochs, learning rate, loss, seed)
    "full_e6": (0, 6, 1e-3, "grade-distance", 0),
    "b4_e6": (4, 6, 1e-3, "grade-distance", 0),
    "b7_e7": (7, 7, 1e-3, "grade-distance", 0),
    "full_e15": (0, 15, 1e-3, "grade-distance", 0),
    "full_e15_lr5e-4": (0, 15, 5e-4, "grade-distance", 0),
    "full_e15_ce": (0, 15, 1e-3, "cross-entropy", 0),
    "full_e25": (0, 25, 1e-3, "grade-distance", 0),
    "b4_e6_s1": (4, 6, 1e-3, "grade-distance", 1),
    "b4_e6_s2": (4, 6, 1e-3, "grade-distance", 2),
    "b7_e6": (7, 6, 1e-3, "grade-distance", 0),
    "b7_e6_s1": (7, 6, 1e-3, "grade-distance", 1),
}


def pack(args: argparse.Namespace) -> None:
    """train/ and val/ grade folders as JPEG bytes and labels, in one pickle."""
    data, out = args.data, args.out
    splits = {}
    for split in ("train", "val"):
        blobs, labels = [], []
        for grade in GRADES:
            for path in sorted((data / split / str(grade)).iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    buffer = io.BytesIO()
                    read_image(path).save(buffer, format="JPEG", quality=JPEG_QUALITY)
                    blobs.append(buffer.getvalue())
                    labels.append(grade)
        splits[split] = (blobs, labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pickle.dumps(splits))
    size = sum(len(b) for blobs, _ in splits.values() for b in blobs) / 2**20
    print(f"{out}: {size:.1f} MiB", {k: len(v[1]) for k, v in splits.items()})


def _decode(blobs: list[bytes]) -> torch.Tensor:
    """uint8 (N, 1, 224, 224), resized as the model's input spec does."""
    return IMAGENET_RGB_224.resize_all(Image.open(io.BytesIO(b)) for b in blobs)


def scores(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    predicted, y = logits.argmax(1).numpy(), labels.numpy()
    return {
        "acc": round(accuracy_score(y, predicted), 4),
        "f1": round(f1_score(y, predicted, average="macro"), 4),
        "qwk": round(cohen_kappa_score(y, predicted, weights="quadratic"), 4),
        "mae": round(float(np.abs(predicted - y).mean()), 4),
        "recall": [
            round(float(r), 3)
            for r in recall_score(y, predicted, average=None, labels=list(GRADES))
        ],
    }


def variant_options(name: str) -> TrainOptions:
    trainable_from, epochs, lr, loss, seed = VARIANTS[name]
    return TrainOptions(
        epochs=epochs,
        learning_rate=lr,
        schedule="one-cycle",
        weight_decay=0.01,
        class_weight="sqrt-balanced",
        loss=loss,
        distance_weight=0.1 if loss == "grade-distance" else 0.0,
        trainable_from=trainable_from,
        augment_online=True,
        tta_flip=True,
        seed=seed,
    )


def train_variant(name: str, data: dict, pretrained: Path, device: str) -> tuple:
    """Train one variant on ``device``; its result row and the trained classifier."""
    options = variant_options(name)
    (x_train, y_train), (x_val, y_val) = data["train"], data["val"]
    classifier = build_classifier("mobilenetv2", options, pretrained)
    start = time.perf_counter()
    logs = learner_for(classifier, options, device).fit(
        x_train, y_train, (x_val, y_val)
    )
    row = {
        "name": name,
        "trainable_from": options.trainable_from,
        "epochs": options.epochs,
        "lr": options.learning_rate,
        "loss": options.loss,
        "seed": options.seed,
        "seconds": round(time.perf_counter() - start, 1),
        **scores(classifier.pixel_logits(x_val, device), y_val),
        "history": [[log.epoch, log.val_accuracy, log.val_qwk] for log in logs],
    }
    return row, classifier


def sweep(args: argparse.Namespace) -> None:
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    packed = pickle.loads(args.pack.read_bytes())
    data = {k: (_decode(b), torch.tensor(y)) for k, (b, y) in packed.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.variants:
        row, classifier = train_variant(name, data, args.pretrained, args.device)
        rows.append(row)
        (args.out / "results.json").write_text(json.dumps(rows, indent=1))
        if name in args.save:
            state = {k: v.half() for k, v in classifier.network.state_dict().items()}
            torch.save(state, args.out / f"{name}.pt")
    for row in rows:
        print(
            row["name"], row["seconds"], row["acc"], row["f1"], row["qwk"], row["mae"]
        )


def score(args: argparse.Namespace) -> None:
    """Kept weights, rated with flip averaging on a grade-folder split as it is on disk."""
    pixels, labels = [], []
    for grade in GRADES:
        for path in sorted((args.data / str(grade)).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                pixels.append(IMAGENET_RGB_224.resize(read_image(path)))
                labels.append(grade)
    options = TrainOptions(trainable_from=args.trainable_from, tta_flip=True)
    classifier = create_classifier("mobilenetv2", model_config("mobilenetv2", options))
    classifier.load(args.weights)
    logits = classifier.pixel_logits(torch.stack(pixels))
    print(args.weights, scores(logits, torch.tensor(labels)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="train and val as one JPEG pack")
    packing.add_argument("--data", type=Path, required=True)
    packing.add_argument("--out", type=Path, required=True)
    sweeping = commands.add_parser("sweep", help="train and score variants on CUDA")
    sweeping.add_argument("--pack", type=Path, required=True)
    sweeping.add_argument("--pretrained", type=Path, required=True)
    sweeping.add_argument("--out", type=Path, required=True)
    sweeping.add_argument("--variants", nargs="+", default=list(VARIANTS))
    sweeping.add_argument("--save", nargs="*", default=[])
    sweeping.add_argument("--device", default="cuda", help="where the network trains")
    scoring = commands.add_parser("score", help="rate kept weights on a val folder")
    scoring.add_argument("--weights", type=Path, required=True)
    scoring.add_argument("--trainable-from", type=int, required=True)
    scoring.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    {"pack": pack, "sweep": sweep, "score": score}[args.command](args)


if __name__ == "__main__":
    main()
