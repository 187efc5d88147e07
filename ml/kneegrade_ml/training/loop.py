"""The torch training loop shared by the neural networks: Adam, cross-entropy, seeded batches."""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.metrics import accuracy_score, cohen_kappa_score
from torch import nn
from tqdm import tqdm

from kneegrade_ml.grades import GRADES

Prepare = Callable[[torch.Tensor], torch.Tensor]
"""Turns a stored batch (pixels or cached features) into what the module reads."""


@dataclass(frozen=True)
class TrainOptions:
    """Hyper-parameters; the defaults are the SPEC's (Adam 1e-4, 15 epochs, batch 32)."""

    epochs: int = 15
    batch_size: int = 32
    learning_rate: float = 1e-4
    class_weight: str | None = None  # None, or "balanced" for imbalanced real data
    seed: int = 0
    n_estimators: int = 100  # Random Forest only


SPEC_OPTIONS = TrainOptions()


@dataclass(frozen=True)
class EpochLog:
    """One epoch's figures, printed as training goes and kept in the model card."""

    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: float | None
    val_qwk: float | None
    seconds: float

    def line(self, epochs: int) -> str:
        text = f"epoch {self.epoch:2d}/{epochs}  loss {self.loss:.4f}"
        text += f"  train acc {self.train_accuracy:.3f}"
        if self.val_accuracy is not None:
            text += f"  val acc {self.val_accuracy:.3f}  val QWK {self.val_qwk:.3f}"
        return text + f"  ({self.seconds:.1f} s)"

    def to_dict(self) -> dict:
        return asdict(self)


def balanced_class_weights(labels: torch.Tensor) -> torch.Tensor:
    """Weights n / (classes * count) per grade, as scikit-learn's "balanced"; 0 for absent grades."""
    counts = torch.bincount(labels, minlength=len(GRADES)).float()
    weights = len(labels) / (len(GRADES) * counts.clamp(min=1))
    return torch.where(counts > 0, weights, torch.zeros_like(weights))


def predict_module(
    module: nn.Module, inputs: torch.Tensor, prepare: Prepare, batch_size: int = 64
) -> np.ndarray:
    """Softmax probabilities (n, 5) of ``module`` in eval mode."""
    module.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            logits = module(prepare(inputs[start : start + batch_size]))
            outputs.append(torch.softmax(logits, dim=1))
    return torch.cat(outputs).numpy()


def fit_module(
    module: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    options: TrainOptions,
    prepare: Prepare,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    desc: str = "train",
    progress: bool = True,
) -> list[EpochLog]:
    """Train the module's trainable parameters in place; return the per-epoch figures."""
    torch.manual_seed(options.seed)
    order_rng = torch.Generator().manual_seed(options.seed)
    trainable = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=options.learning_rate)
    weight = (
        balanced_class_weights(labels) if options.class_weight == "balanced" else None
    )
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    logs = []
    for epoch in range(1, options.epochs + 1):
        start = time.perf_counter()
        module.train()
        order = torch.randperm(len(labels), generator=order_rng)
        total_loss, correct = 0.0, 0
        bar = tqdm(
            total=len(labels),
            desc=f"{desc} {epoch}/{options.epochs}",
            leave=False,
            disable=not progress,
        )
        for first in range(0, len(labels), options.batch_size):
            batch = order[first : first + options.batch_size]
            logits = module(prepare(inputs[batch]))
            loss = loss_fn(logits, labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
            correct += (logits.argmax(1) == labels[batch]).sum().item()
            bar.update(len(batch))
        bar.close()
        val_accuracy = val_qwk = None
        if validation is not None:
            val_inputs, val_labels = validation
            predicted = predict_module(module, val_inputs, prepare).argmax(1)
            val_accuracy = float(accuracy_score(val_labels, predicted))
            val_qwk = float(
                cohen_kappa_score(
                    val_labels, predicted, weights="quadratic", labels=GRADES
                )
            )
        log = EpochLog(
            epoch,
            total_loss / len(labels),
            correct / len(labels),
            val_accuracy,
            val_qwk,
            time.perf_counter() - start,
        )
        logs.append(log)
        if progress:
            tqdm.write(f"{desc}: {log.line(options.epochs)}")
    return logs
