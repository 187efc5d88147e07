"""What one grade costs per model: a flip-averaged grade of one knee crop on ONNX Runtime, as
`make run` serves it (a release's int8 network where it has one), for each model directory
given, in one process, in alternating rounds.

The first model is the reference: each row's ratio is its median over the reference's, the figure
the accuracy issue bounds (a released model within 1.5x of MobileNetV2's inference time).
Alternating rounds share whatever else the machine is doing between the models; each round
warms its model up first (``bench_upload_steps.cpu_and_wall_ms``). Saves
artifacts/bench/grade_cost.json.

Run: `.venv/bin/python bench/bench_grade_cost.py --model models/mobilenetv2-chen2018 DIR ...`.
"""

import argparse
import io
import json
import statistics
from pathlib import Path

from bench_serving import test_image
from bench_upload_steps import cpu_and_wall_ms
from PIL import Image
from rich.console import Console
from rich.table import Table

from kneegrade_ml.predictor import Predictor

RESULTS = Path("artifacts/bench/grade_cost.json")
console = Console()


def measure(models: list[Path], rounds: int, grades: int) -> dict:
    """Each model's per-round mean grade time, the models taking turns round by round."""
    name, data = test_image()
    image = Image.open(io.BytesIO(data))
    image.load()
    predictors = [Predictor(model, engine="onnx") for model in models]
    times: list[list[tuple[float, float]]] = [[] for _ in models]
    for _ in range(rounds):
        for timed, predictor in zip(times, predictors, strict=True):
            timed.append(cpu_and_wall_ms(lambda p=predictor: p.predict(image), grades))
    walls = [statistics.median(wall for _, wall in timed) for timed in times]
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
                "precision": predictor.precision,
                "median_ms": wall,
                "cpu_ms": statistics.median(cpu for cpu, _ in timed),
                "ratio": wall / walls[0],
            }
            for model, predictor, timed, wall in zip(
                models, predictors, times, walls, strict=True
            )
        ],
    }


def show(result: dict) -> None:
    table = Table(
        title=f"One flip-averaged grade of {result['image']}, "
        f"{result['rounds']} alternating rounds of {result['grades_per_round']}"
    )
    table.add_column("model", overflow="fold")
    columns = (
        "version",
        "input",
        "engine",
        "precision",
        "median ms",
        "CPU ms",
        "ratio",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in result["models"]:
        table.add_row(
            row["model"],
            str(row["version"]),
            f"{row['size']} px",
            row["engine"],
            row["precision"],
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
