"""What one grade costs per model: a flip-averaged grade of one knee crop on ONNX Runtime, as
`make run` serves it, for each model directory given, in one process, in alternating rounds.

The first model is the reference: each row's ratio is its median over the reference's, the figure
the accuracy issue bounds (a released model within 1.5x of MobileNetV2's inference time).
Alternating rounds share whatever else the machine is doing between the models. Saves
artifacts/bench/grade_cost.json.

Run: `.venv/bin/python bench/bench_grade_cost.py --model models/mobilenetv2-chen2018 DIR ...`.
"""

import argparse
import io
import json
import statistics
import time
from pathlib import Path

from bench_serving import test_image
from PIL import Image
from rich.console import Console
from rich.table import Table

from kneegrade_ml.predictor import Predictor

RESULTS = Path("artifacts/bench/grade_cost.json")
console = Console()


def grade_ms(
    predictor: Predictor, image: Image.Image, grades: int
) -> tuple[float, float]:
    """Mean wall and CPU milliseconds of ``grades`` grades of ``image``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(grades):
        predictor.predict(image)
    return (
        1000 * (time.perf_counter() - wall) / grades,
        1000 * (time.process_time() - cpu) / grades,
    )


def measure(models: list[Path], rounds: int, grades: int) -> dict:
    """Each model's per-round mean grade time, the models taking turns round by round."""
    name, data = test_image()
    image = Image.open(io.BytesIO(data))
    image.load()
    predictors = [Predictor(model, engine="onnx") for model in models]
    for predictor in predictors:
        grade_ms(predictor, image, 10)
    walls: dict[str, list[float]] = {str(m): [] for m in models}
    cpus: dict[str, list[float]] = {str(m): [] for m in models}
    for _ in range(rounds):
        for model, predictor in zip(models, predictors, strict=True):
            wall, cpu = grade_ms(predictor, image, grades)
            walls[str(model)].append(wall)
            cpus[str(model)].append(cpu)
    reference = statistics.median(walls[str(models[0])])
    return {
        "image": name,
        "rounds": rounds,
        "grades_per_round": grades,
        "models": [
            {
                "model": str(model),
                "version": predictor.card.get("version"),
                "size": predictor.classifier.spec.size,
                "engine": predictor.engine,
                "median_ms": statistics.median(walls[str(model)]),
                "cpu_ms": statistics.median(cpus[str(model)]),
                "ratio": statistics.median(walls[str(model)]) / reference,
            }
            for model, predictor in zip(models, predictors, strict=True)
        ],
    }


def show(result: dict) -> None:
    table = Table(
        title=f"One flip-averaged grade of {result['image']}, "
        f"{result['rounds']} alternating rounds of {result['grades_per_round']}"
    )
    table.add_column("model", overflow="fold")
    for column in ("version", "input", "engine", "median ms", "CPU ms", "ratio"):
        table.add_column(column, justify="right")
    for row in result["models"]:
        table.add_row(
            row["model"],
            str(row["version"]),
            f"{row['size']} px",
            row["engine"],
            f"{row['median_ms']:.1f}",
            f"{row['cpu_ms']:.1f}",
            f"{row['ratio']:.2f}x",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, nargs="+", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--grades", type=int, default=20)
    args = parser.parse_args()
    result = measure(args.model, args.rounds, args.grades)
    show(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    console.print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
