"""Temperature scaling (Guo et al. 2017): one number that makes confidence mean what it says.

Dividing the logits by a temperature T > 1 softens over-confident probabilities without changing
which grade is the most likely, so accuracy and kappa stay exactly as they were.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold
from torch.nn import functional as F

from kneegrade_ml.evaluation.metrics import expected_calibration_error
from kneegrade_ml.models.outputs import softmax_with_temperature

MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` (held-out data)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    if z.ndim != 2 or len(z) != len(y) or len(y) == 0:
        raise ValueError(
            f"need logits (n, classes) and n labels, got {tuple(z.shape)} and {len(y)}"
        )
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def nll() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(nll)
    return float(log_t.detach().exp().clamp(MIN_TEMPERATURE, MAX_TEMPERATURE))


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature and what it did to the expected calibration error (ECE).

    ``ece_after`` is measured on the data the temperature was fitted on, so it flatters;
    ``ece_after_cross_fitted`` fits on one half and measures on the other (both ways), which
    is what a new image can expect.
    """

    temperature: float
    ece_before: float
    ece_after: float
    ece_after_cross_fitted: float

    @property
    def helps_unseen_images(self) -> bool:
        """Whether the temperature, fitted on one half and measured on the other, lowers ECE:
        the likelihood-optimal temperature can make confidence less truthful."""
        return self.ece_after_cross_fitted < self.ece_before

    @property
    def kept_temperature(self) -> float:
        """The temperature to serve: the fitted one where it helps unseen images, else 1."""
        return self.temperature if self.helps_unseen_images else 1.0

    def to_dict(self, split: str) -> dict:
        return {
            "method": "temperature scaling",
            "split": split,
            **asdict(self),
            "kept": self.helps_unseen_images,
        }


def cross_fitted_probabilities(
    logits: np.ndarray, labels: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Each half's probabilities under the temperature fitted on the other half."""
    halves = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    probabilities = np.zeros(logits.shape)
    for fit_idx, apply_idx in halves.split(logits, labels):
        temperature = fit_temperature(logits[fit_idx], labels[fit_idx])
        probabilities[apply_idx] = softmax_with_temperature(
            logits[apply_idx], temperature
        )
    return probabilities


def calibrate(logits: np.ndarray, labels: np.ndarray, seed: int = 0) -> Calibration:
    """Fit a temperature on held-out ``logits`` and measure ECE before and after."""
    temperature = fit_temperature(logits, labels)
    return Calibration(
        temperature=temperature,
        ece_before=expected_calibration_error(
            labels, softmax_with_temperature(logits, 1)
        ),
        ece_after=expected_calibration_error(
            labels, softmax_with_temperature(logits, temperature)
        ),
        ece_after_cross_fitted=expected_calibration_error(
            labels, cross_fitted_probabilities(logits, labels, seed)
        ),
    )
