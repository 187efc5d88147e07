"""Sharpness-aware minimisation (SAM; Foret et al., ICLR 2021): each step takes the gradient at
the worst weights within a small radius, which favours flat minima and resists noisy labels."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


class SharpnessAware:
    """Moves the trainable weights ``rho`` along their gradient and back again, around a second
    forward and backward pass; the optimiser then steps from the original weights."""

    def __init__(self, parameters: list[nn.Parameter], rho: float):
        if rho < 0:
            raise ValueError(
                f"sharpness-aware minimisation's rho cannot be negative ({rho})"
            )
        self.parameters = parameters
        self.rho = rho

    @torch.no_grad()
    def _climb(self) -> list[torch.Tensor | None]:
        """Add rho times the unit gradient to each weight; return what was added."""
        grads = [p.grad for p in self.parameters]
        norm = torch.nn.utils.get_total_norm([g for g in grads if g is not None])
        steps = [None if g is None else g * (self.rho / (norm + 1e-12)) for g in grads]
        for p, step in zip(self.parameters, steps, strict=True):
            if step is not None:
                p.add_(step)
        return steps

    def replace_gradients(
        self,
        module: nn.Module,
        inputs: torch.Tensor,
        loss_of: Callable[[torch.Tensor], torch.Tensor],
    ) -> None:
        """Given the gradients of the batch's loss, put in their place those of
        ``loss_of(module(inputs))`` at the climbed weights, leaving the weights as they were."""
        steps = self._climb()
        with batch_norm_statistics_kept(module):
            worst = loss_of(module(inputs))
        for p in self.parameters:
            p.grad = None
        worst.backward()
        with torch.no_grad():
            for p, step in zip(self.parameters, steps, strict=True):
                if step is not None:
                    p.sub_(step)


@contextmanager
def batch_norm_statistics_kept(module: nn.Module) -> Iterator[None]:
    """The second pass sees the same batch at other weights: it must not count twice in the
    BatchNorm running statistics."""
    tracking = [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in tracking]
    for m in tracking:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(tracking, saved, strict=True):
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)
