"""GPU sweep of MobileNetV2 fine-tuning depth and length on real radiographs (README, "Real").

Each variant trains with the real recipe's levers (ordinal loss, sqrt class weights, one-cycle
AdamW, a fresh augmentation of every batch) from a given block, and is scored on val with flip
averaging. Augmentation runs in DataLoader workers; the network on CUDA (TF32).

  python bench/real_sweep_gpu.py pack --data ../shared/data/knee-kl-chen2018 --out .gpu/data.pkl
  python bench/real_sweep_gpu.py sweep --pack .gpu/data.pkl --pretrained W.pth --out results/

  python bench/real_sweep_gpu.py score --weights results/full_e15.pt --trainable-from 0 \
      --data ../shared/data/knee-kl-chen2018/val --pretrained W.pth

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
from torch.utils.data import DataLoader, Dataset

from kneegrade_ml.data.folders import IMAGE_SUFFIXES
from kneegrade_ml.data.images import read_image
from kneegrade_ml.grades import GRADES
from kneegrade_ml.models.networks import MobileNetV2KL, imagenet_mobilenet_v2
from kneegrade_ml.preprocess import IMAGENET_RGB_224
from kneegrade_ml.training.augment import radiograph_augmentation
from kneegrade_ml.training.loop import TrainOptions, build_loss, build_optimizer

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


class Augmented(Dataset):
    """Training images, each drawn through a fresh radiograph augmentation."""

    def __init__(self, pixels: torch.Tensor, labels: torch.Tensor):
        self.pixels, self.labels = pixels, labels
        self.transform = radiograph_augmentation()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.pixels[index]), self.labels[index]


def flip_averaged_logits(model: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """Val logits averaged over each image and its mirror, as the recipe predicts."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(pixels), 256):
            x = IMAGENET_RGB_224.normalize(pixels[start : start + 256].to(device))
            out.append(((model(x) + model(x.flip(-1))) / 2).float().cpu())
    return torch.cat(out)


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


def train_variant(name: str, data: dict, pretrained: Path, workers: int) -> tuple:
    """Train one variant on CUDA; its result row and the trained model."""
    trainable_from, epochs, lr, loss, seed = VARIANTS[name]
    options = TrainOptions(
        epochs=epochs,
        learning_rate=lr,
        schedule="one-cycle",
        weight_decay=0.01,
        class_weight="sqrt-balanced",
        loss=loss,
        distance_weight=0.1 if loss == "grade-distance" else 0.0,
        trainable_from=trainable_from,
        augment_online=True,
        seed=seed,
    )
    (x_train, y_train), (x_val, y_val) = data["train"], data["val"]
    torch.manual_seed(seed)
    device = torch.device("cuda")
    backbone = imagenet_mobilenet_v2(pretrained)
    model = MobileNetV2KL(backbone, trainable_from).to(device)
    loader = DataLoader(
        Augmented(x_train, y_train),
        batch_size=options.batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=True,
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer, scheduler = build_optimizer(trainable, options, epochs * len(loader))
    loss_fn = build_loss(options, y_train).to(device)
    start, history = time.perf_counter(), []
    for epoch in range(1, epochs + 1):
        model.train()
        for pixels, labels in loader:
            x = IMAGENET_RGB_224.normalize(pixels.to(device, non_blocking=True))
            batch_loss = loss_fn(model(x), labels.to(device))
            optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            optimizer.step()
            scheduler.step()
        epoch_scores = scores(flip_averaged_logits(model, x_val), y_val)
        history.append([epoch, epoch_scores["acc"], epoch_scores["qwk"]])
        elapsed = time.perf_counter() - start
        print(f"{name} epoch {epoch}: {epoch_scores} ({elapsed:.0f} s)", flush=True)
    row = {
        "name": name,
        "trainable_from": trainable_from,
        "epochs": epochs,
        "lr": lr,
        "loss": loss,
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 1),
        **scores(flip_averaged_logits(model, x_val), y_val),
        "history": history,
    }
    return row, model


def sweep(args: argparse.Namespace) -> None:
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    packed = pickle.loads(args.pack.read_bytes())
    data = {k: (_decode(b), torch.tensor(y)) for k, (b, y) in packed.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.variants:
        row, model = train_variant(name, data, args.pretrained, args.workers)
        rows.append(row)
        (args.out / "results.json").write_text(json.dumps(rows, indent=1))
        if name in args.save:
            state = {k: v.half() for k, v in model.state_dict().items()}
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
    model = MobileNetV2KL(imagenet_mobilenet_v2(args.pretrained), args.trainable_from)
    state = torch.load(args.weights, map_location="cpu")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    logits = flip_averaged_logits(model, torch.stack(pixels))
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
    sweeping.add_argument("--workers", type=int, default=14)
    scoring = commands.add_parser("score", help="rate kept weights on a val folder")
    scoring.add_argument("--weights", type=Path, required=True)
    scoring.add_argument("--trainable-from", type=int, required=True)
    scoring.add_argument("--data", type=Path, required=True)
    scoring.add_argument("--pretrained", type=Path, required=True)
    args = parser.parse_args()
    {"pack": pack, "sweep": sweep, "score": score}[args.command](args)


if __name__ == "__main__":
    main()
