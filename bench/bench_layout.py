"""What the channels-last memory layout buys MobileNetV2 on this CPU (README, "Real").

The real recipe's training step (blocks 4-18 trained, batch 32, AdamW) and inference on the
same 32 images in batches of 16, with weights and inputs in the default (contiguous NCHW) layout
and in channels-last, alternating in one process. Run: `.venv/bin/python bench/bench_layout.py`; saves
artifacts/bench/layout.json.
"""

import json
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from torchvision.models import mobilenet_v2

from kneegrade_ml.models.networks import MobileNetV2KL
from kneegrade_ml.models.outputs import INFERENCE_BATCH
from kneegrade_ml.runtime import configure_cpu

RESULTS = Path("artifacts/bench/layout.json")
BATCH, ROUNDS, TRAINABLE_FROM = 32, 5, 4
LAYOUTS = {"contiguous": torch.contiguous_format, "channels-last": torch.channels_last}


def _train_step_ms(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> float:
    model.train()
    start = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return 1000 * (time.perf_counter() - start) / len(x)


def _inference_ms(model: nn.Module, x: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        start = time.perf_counter()
        for batch in x.split(INFERENCE_BATCH):
            model(batch)
    return 1000 * (time.perf_counter() - start) / len(x)


def main() -> None:
    configure_cpu()
    torch.manual_seed(0)
    x, y = torch.randn(BATCH, 3, 224, 224), torch.randint(0, 5, (BATCH,))
    models = {
        name: MobileNetV2KL(mobilenet_v2(), TRAINABLE_FROM).to(memory_format=layout)
        for name, layout in LAYOUTS.items()
    }
    optimizers = {
        name: torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
        for name, model in models.items()
    }
    inputs = {name: x.contiguous(memory_format=f) for name, f in LAYOUTS.items()}
    times: dict[str, dict[str, list[float]]] = {
        name: {"training step": [], "inference": []} for name in LAYOUTS
    }
    for _ in range(ROUNDS + 1):
        for name, model in models.items():
            step = _train_step_ms(model, optimizers[name], inputs[name], y)
            times[name]["training step"].append(step)
            times[name]["inference"].append(_inference_ms(model, inputs[name]))
    medians = {
        name: {task: statistics.median(ms[1:]) for task, ms in tasks.items()}
        for name, tasks in times.items()
    }
    table = Table(title="MobileNetV2, ms per image (median of 5 after a warm-up)")
    table.add_column("")
    for name in LAYOUTS:
        table.add_column(name, justify="right")
    table.add_column("ratio", justify="right")
    for task in ("training step", "inference"):
        before, after = (medians[name][task] for name in LAYOUTS)
        table.add_row(task, f"{before:.1f}", f"{after:.1f}", f"{before / after:.2f}x")
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(medians, indent=2))


if __name__ == "__main__":
    main()
