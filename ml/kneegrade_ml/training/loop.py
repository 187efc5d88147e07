"""The torch training loop shared by the neural networks: options, loss, optimiser, seeded batches."""

import math
import time
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import torch
from sklearn.metrics import accuracy_score, cohen_kappa_score
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from kneegrade_ml.data.folds import Fold
from kneegrade_ml.grades import GRADES
from kneegrade_ml.models.outputs import Prepare, module_logits
from kneegrade_ml.training.losses import DistillationLoss, GradeDistanceLoss
from kneegrade_ml.training.sharpness import SharpnessAware


@dataclass(frozen=True)
class TrainOptions:
    """Hyper-parameters; the defaults are the SPEC's (Adam 1e-4, 15 epochs, batch 32).

    The fields after ``n_estimators`` are the real-radiograph recipe's levers (see ``recipes``);
    their defaults leave the SPEC's training unchanged.
    """

    epochs: int = 15
    batch_size: int = 32
    learning_rate: float = 1e-4
    class_weight: str | None = None  # None, "balanced", or "sqrt-balanced"
    seed: int = 0
    n_estimators: int = 100  # Random Forest only
    trainable_from: int | None = (
        None  # first trained block; None: the kind's (SPEC: 14)
    )
    loss: str = "cross-entropy"  # or "grade-distance" (see losses)
    distance_weight: float = 0.0  # grade-distance loss only
    label_spread: float = 0.0  # soft ordinal targets (grade-distance loss); 0: one-hot
    weight_decay: float = 0.0  # decoupled (AdamW); 0 is plain Adam
    schedule: str = "constant"  # or "one-cycle": warm up, then anneal the learning rate
    augment_views: int = 0  # augmented copies of each training image, encoded once
    augment_online: bool = False  # a fresh augmentation of every image in every epoch
    augment: str = "standard"  # or "scanner": views also get another scanner's look
    positioning: str = "standard"  # or "wide": twice the rotation, shift and scale
    erase: float = 0.0  # the chance a view gets one black rectangle; 0: off
    tta_flip: bool = False  # predict on the image and its mirror, average the logits
    head: str = "linear"  # or "corn": ordered grades (models.config.HEADS)
    pool: str = "avg"  # or "gem": a learned generalised mean (models.config.POOLS)
    calibrate: bool = False  # fit a temperature on the held-out split (see calibration)
    input_size: int | None = None  # input side in pixels; None: the kind's own
    standardize: str = "none"  # or "equalize": each image's histogram (preprocess)
    teachers: tuple[str, ...] = ()  # model directories, or a saved teaching (distill)
    distill_weight: float = 0.5  # the teachers' share of the loss when there are some
    ema_decay: float = 0.0  # keep an exponential moving average of the weights; 0: off
    mixup: float = 0.0  # blend image pairs and their targets, Beta(a, a) shares; 0: off
    sam_rho: float = 0.0  # sharpness-aware steps from weights this far uphill; 0: off
    drop_path: float = 0.0  # stochastic depth, its rate scaled by block depth; 0: off
    linear_probe: bool = False  # fit the grade layer on frozen features first (LP-FT)
    layer_decay: float = 1.0  # each stage's rate this times the one above; 1: off
    held_out_fold: str | None = None  # "K/N": train without fold K of N (data.folds)
    train_fold: str | None = None  # "K/N": train on fold K of N alone (learning curve)

    def __post_init__(self) -> None:
        """A card's JSON and the command line give lists: options compare equal either way.
        Folds are checked here, before any image is read."""
        object.__setattr__(self, "teachers", tuple(str(t) for t in self.teachers))
        if self.held_out_fold is not None and self.train_fold is not None:
            raise ValueError("train on one fold or without one, not both")
        for fold in (self.held_out_fold, self.train_fold):
            if fold is not None:
                Fold.parse(fold)


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


def class_weights(labels: torch.Tensor, scheme: str | None) -> torch.Tensor | None:
    """Per-grade loss weights: none, "balanced", or its square root (a milder correction)."""
    if scheme is None:
        return None
    if scheme == "balanced":
        return balanced_class_weights(labels)
    if scheme == "sqrt-balanced":
        return balanced_class_weights(labels).sqrt()
    raise ValueError(f"unknown class weighting {scheme!r}")


def build_loss(options: TrainOptions, labels: torch.Tensor) -> nn.Module:
    """The training loss ``options`` name, weighted per grade as they say."""
    weight = class_weights(labels, options.class_weight)
    if options.label_spread and options.loss != "grade-distance":
        raise ValueError("soft labels need the grade-distance loss")
    if options.loss == "cross-entropy":
        return nn.CrossEntropyLoss(weight=weight)
    if options.loss == "grade-distance":
        return GradeDistanceLoss(
            options.distance_weight, weight, label_spread=options.label_spread
        )
    raise ValueError(f"unknown loss {options.loss!r}")


def layer_rates(stages: list[list[nn.Parameter]], options: TrainOptions) -> list[dict]:
    """One parameter group per stage, bottom to top: the top stage learns at the options' rate
    and each stage below at ``layer_decay`` times the rate of the one above it."""
    if not 0 < options.layer_decay <= 1:
        raise ValueError(
            f"the layer decay must lie in (0, 1], not {options.layer_decay}"
        )
    top = len(stages) - 1
    return [
        {
            "params": params,
            "lr": options.learning_rate * options.layer_decay ** (top - i),
        }
        for i, params in enumerate(stages)
        if params
    ]


def build_optimizer(
    groups: list[dict], options: TrainOptions, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """Adam (decoupled weight decay when asked) over parameter groups with their own peak rates
    and, for "one-cycle", its per-step schedule."""
    optimizer = torch.optim.AdamW(
        groups, lr=options.learning_rate, weight_decay=options.weight_decay
    )
    if options.schedule == "constant":
        return optimizer, None
    if options.schedule == "one-cycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=steps,
            pct_start=0.15,
        )
        return optimizer, scheduler
    raise ValueError(f"unknown learning-rate schedule {options.schedule!r}")


def shared_loss(
    loss_fn: nn.Module,
    shares: list[tuple[float, list[torch.Tensor]]],
    logits: torch.Tensor,
) -> torch.Tensor:
    """The loss against each set of targets, weighted by its share (one set without mixup)."""
    return sum(share * loss_fn(logits, *targets) for share, targets in shares)


def weight_average(module: nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of the module's weights and BatchNorm statistics (None at
    decay 0): the late steps' noise averages out of the weights that are kept."""
    if decay == 0:
        return None
    if not 0 < decay < 1:
        raise ValueError(f"the weight average's decay must lie in [0, 1), not {decay}")
    return AveragedModel(
        module, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True
    )


@dataclass(frozen=True)
class Mixup:
    """Blends each batch with a shuffled copy of itself by one share drawn from Beta(alpha, alpha)
    (mixup), and the loss the same way: grades between two images' look are learnt as a blend."""

    alpha: float
    rng: np.random.Generator

    @classmethod
    def from_options(cls, options: TrainOptions) -> "Mixup | None":
        """The options' mixup, seeded from their seed; None when it is off."""
        if options.mixup == 0:
            return None
        if options.mixup < 0:
            raise ValueError(f"mixup's alpha cannot be negative ({options.mixup})")
        return cls(options.mixup, np.random.default_rng(options.seed + 2))

    def draw(self, size: int) -> tuple[float, torch.Tensor]:
        """This batch's share of each image and the partner each is blended with."""
        share = float(self.rng.beta(self.alpha, self.alpha))
        return share, torch.from_numpy(self.rng.permutation(size))

    def mix(
        self, inputs: torch.Tensor, targets: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[tuple[float, list[torch.Tensor]]]]:
        """The blended batch, and each set of targets with its share of the loss."""
        share, partner = self.draw(len(inputs))
        blend = share * inputs + (1 - share) * inputs[partner]
        partners = [target[partner] for target in targets]
        return blend, [(share, targets), (1 - share, partners)]


@dataclass(frozen=True)
class Views:
    """Training samples seen several ways, stacked (views, N, ...): the original and augmented copies.

    Each epoch draws one view per sample, so augmentation costs one encoding per view rather than
    one per epoch (MobileNetV2's frozen trunk runs once per view).
    """

    stacked: torch.Tensor

    def __len__(self) -> int:
        return self.stacked.shape[1]

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """Which view each sample shows this epoch."""
        return torch.randint(len(self.stacked), (len(self),), generator=generator)


def fit_module(
    module: nn.Module,
    inputs: torch.Tensor | Views,
    labels: torch.Tensor,
    options: TrainOptions,
    prepare: Prepare,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    desc: str = "train",
    progress: bool = True,
    augment: Prepare | None = None,
    device: torch.device | str = "cpu",
    teacher: torch.Tensor | None = None,
    stages: list[list[nn.Parameter]] | None = None,
) -> list[EpochLog]:
    """Train the module's trainable parameters in place on ``device``; return the per-epoch
    figures (the module is left on ``device``).

    ``augment``, when given, redraws each training batch (raw pixels) before ``prepare``;
    ``teacher``, when given, holds probabilities (N, 5) to distil besides the labels;
    ``stages``, when given, are the trainable parameters bottom to top, for ``layer_decay``.
    Every draw comes from ``options.seed``: dropout from a forked global generator (so the
    caller's random state is left as it was), order and views from their own generators.
    """
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(options.seed)
        return _fit(module.to(device), inputs, labels, options, prepare, validation,
                    desc, progress, augment, device, teacher, stages)  # fmt: skip


def _fit(
    module: nn.Module,
    inputs: torch.Tensor | Views,
    labels: torch.Tensor,
    options: TrainOptions,
    prepare: Prepare,
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    desc: str,
    progress: bool,
    augment: Prepare | None,
    device: torch.device | str,
    teacher: torch.Tensor | None,
    stages: list[list[nn.Parameter]] | None,
) -> list[EpochLog]:
    order_rng = torch.Generator().manual_seed(options.seed)
    view_rng = torch.Generator().manual_seed(options.seed + 1)
    views = inputs if isinstance(inputs, Views) else Views(inputs[None])
    trainable = [p for p in module.parameters() if p.requires_grad]
    steps_per_epoch = math.ceil(len(labels) / options.batch_size)
    optimizer, scheduler = build_optimizer(
        layer_rates(stages or [trainable], options),
        options,
        options.epochs * steps_per_epoch,
    )
    loss_fn = build_loss(options, labels)
    if teacher is not None:
        loss_fn = DistillationLoss(loss_fn, options.distill_weight)
    loss_fn = loss_fn.to(device)
    average = weight_average(module, options.ema_decay)
    mixup = Mixup.from_options(options)
    sharpness = SharpnessAware(trainable, options.sam_rho) if options.sam_rho else None
    kept = module if average is None else average.module
    logs = []
    for epoch in range(1, options.epochs + 1):
        start = time.perf_counter()
        module.train()
        order = torch.randperm(len(labels), generator=order_rng)
        shown = views.draw(view_rng)
        total_loss, correct = 0.0, 0
        bar = tqdm(
            total=len(labels),
            desc=f"{desc} {epoch}/{options.epochs}",
            leave=False,
            disable=not progress,
        )
        for first in range(0, len(labels), options.batch_size):
            batch = order[first : first + options.batch_size]
            inputs_batch = views.stacked[shown[batch], batch]
            if augment is not None:
                inputs_batch = augment(inputs_batch)
            network_inputs = prepare(inputs_batch.to(device))
            batch_labels = labels[batch].to(device)
            targets = [batch_labels]
            if teacher is not None:
                targets.append(teacher[batch].to(device))
            shares = [(1.0, targets)]
            if mixup is not None:
                network_inputs, shares = mixup.mix(network_inputs, targets)
            loss_of = partial(shared_loss, loss_fn, shares)
            logits = module(network_inputs)
            loss = loss_of(logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if sharpness is not None:
                sharpness.replace_gradients(module, network_inputs, loss_of)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if average is not None:
                average.update_parameters(module)
            total_loss += loss.item() * len(batch)
            correct += (logits.argmax(1) == batch_labels).sum().item()
            bar.update(len(batch))
        bar.close()
        val_accuracy = val_qwk = None
        if validation is not None:
            val_inputs, val_labels = validation
            val_logits = module_logits(kept, val_inputs, prepare, device=device)
            predicted = val_logits.argmax(1)
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
    if average is not None:  # the averaged weights are the ones kept and served
        module.load_state_dict(average.module.state_dict())
    return logs
