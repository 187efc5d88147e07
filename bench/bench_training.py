"""Where MobileNetV2 and CNN training time goes, and what the two speed-ups buy.

1. Cached trunk: MobileNetV2's frozen ``features[:14]`` run once per image instead of in every
   step of every epoch (the same numbers are learned: the trunk is frozen and in eval mode).
2. malloc tuning (``runtime.configure_cpu``): activation buffers stay in the heap.

Each configuration runs in a fresh process (malloc settings cannot be undone). Run:
`.venv/bin/python bench/bench_training.py`; saves artifacts/bench/training.json.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from torchvision.models import mobilenet_v2

from kneegrade_ml.models.networks import KneeOACNN, MobileNetV2KL
from kneegrade_ml.runtime import configure_cpu

RESULTS = Path("artifacts/bench/training.json")
BATCH, STEPS, IMAGES, EPOCHS = 32, 6, 1250, 15


def _step_ms(module: nn.Module, x: torch.Tensor) -> float:
    """Median milliseconds per image of one Adam training step on a batch."""
    y = torch.randint(0, 5, (len(x),))
    optimizer = torch.optim.Adam(
        [p for p in module.parameters() if p.requires_grad], 1e-4
    )
    module.train()
    times = []
    for _ in range(STEPS):
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(module(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[1:]) / len(x)


def _trunk_ms(model: MobileNetV2KL, chunk: int = 8) -> float:
    x = torch.randn(chunk, 3, 224, 224)
    with torch.inference_mode():
        model.trunk(x)
        start = time.perf_counter()
        for _ in range(STEPS):
            model.trunk(x)
    return 1000 * (time.perf_counter() - start) / (STEPS * chunk)


def measure(tuned: bool) -> dict[str, float]:
    """Per-image milliseconds of each training ingredient, in this process."""
    if tuned:
        configure_cpu()
    torch.manual_seed(0)
    model = MobileNetV2KL(mobilenet_v2())
    return {
        "mobilenet full step": _step_ms(model, torch.randn(BATCH, 3, 224, 224)),
        "mobilenet trunk forward": _trunk_ms(model),
        "mobilenet head step": _step_ms(model.head, torch.randn(BATCH, 96, 14, 14)),
        "cnn step": _step_ms(
            KneeOACNN().to(memory_format=torch.channels_last),
            torch.randn(BATCH, 1, 128, 128).contiguous(
                memory_format=torch.channels_last
            ),
        ),
    }


def _in_child(tuned: bool) -> dict[str, float]:
    flag = "--tuned" if tuned else "--untuned"
    out = subprocess.run(
        [sys.executable, __file__, flag], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    runs = {"default malloc": _in_child(False), "tuned malloc": _in_child(True)}
    table = Table(title=f"ms per image per training step (batch {BATCH})")
    table.add_column("ingredient")
    for name in runs:
        table.add_column(name, justify="right")
    table.add_column("ratio", justify="right")
    for key in runs["tuned malloc"]:
        before, after = runs["default malloc"][key], runs["tuned malloc"][key]
        table.add_row(key, f"{before:.1f}", f"{after:.1f}", f"{before / after:.2f}x")
    console = Console()
    console.print(table)

    projected = Table(
        title=f"projected MobileNetV2 training: {EPOCHS} epochs x {IMAGES} images"
    )
    projected.add_column("recipe")
    projected.add_column("minutes", justify="right")
    recipes = {}
    for name, ms in runs.items():
        naive = EPOCHS * IMAGES * ms["mobilenet full step"] / 60000
        cached = IMAGES * ms["mobilenet trunk forward"] / 60000
        cached += EPOCHS * IMAGES * ms["mobilenet head step"] / 60000
        recipes[f"full model every step, {name}"] = naive
        recipes[f"cached trunk, {name}"] = cached
    for recipe, minutes in recipes.items():
        projected.add_row(recipe, f"{minutes:.1f}")
    naive = recipes["full model every step, default malloc"]
    best = recipes["cached trunk, tuned malloc"]
    projected.add_section()
    projected.add_row("speed-up, naive+default -> cached+tuned", f"{naive / best:.1f}x")
    console.print(projected)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"ms_per_image": runs, "minutes": recipes}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1] == "--tuned")))
    else:
        main()
