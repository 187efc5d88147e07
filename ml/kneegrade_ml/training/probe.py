"""Linear probing before fine-tuning (LP-FT, Kumar et al. 2022): the grade layer is fitted on the
pretrained features first, so fine-tuning starts from a layer that already points the right way
and its first large gradients do not distort the pretrained features, which carry the robustness
to other scanners."""

import torch
from torch import nn

from kneegrade_ml.models.outputs import Prepare, module_logits
from kneegrade_ml.training.loop import TrainOptions, build_loss

PROBE_ITERATIONS = 200
"""L-BFGS iterations: the probe converges whatever the features' scale, in seconds."""


def grade_layer_inputs(
    module: nn.Module,
    grade_layer: nn.Module,
    inputs: torch.Tensor,
    prepare: Prepare,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """What ``grade_layer`` receives for each input, with ``module`` in eval mode (no dropout)."""
    captured: list[torch.Tensor] = []
    hook = grade_layer.register_forward_pre_hook(
        lambda _, args: captured.append(args[0].cpu())
    )
    try:
        module_logits(module, inputs, prepare, device=device)
    finally:
        hook.remove()
    return torch.cat(captured).clone()  # a normal tensor, not an inference-mode one


def fit_grade_layer(
    grade_layer: nn.Module,
    features: torch.Tensor,
    labels: torch.Tensor,
    options: TrainOptions,
) -> list[float]:
    """Full-batch L-BFGS on the grade layer alone: the training loss and class weights the
    options name, plus their weight decay as an L2 penalty (a regularised logistic regression);
    returns the loss at every evaluation."""
    loss_fn = build_loss(options, labels)
    parameters = list(grade_layer.parameters())
    optimizer = torch.optim.LBFGS(
        parameters, max_iter=PROBE_ITERATIONS, line_search_fn="strong_wolfe"
    )
    device = parameters[0].device
    features, labels = features.to(device), labels.to(device)
    losses: list[float] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        penalty = sum(p.pow(2).sum() for p in parameters)
        loss = (
            loss_fn(grade_layer(features), labels) + options.weight_decay / 2 * penalty
        )
        loss.backward()
        losses.append(loss.item())
        return loss

    optimizer.step(closure)
    return losses
