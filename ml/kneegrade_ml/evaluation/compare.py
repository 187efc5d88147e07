"""A results table of trained models, read from their cards: what each one is, what trained it,
how long it took, and how it scored on its held-out split, with the command that reproduces it.

Runs of one recipe (the same kind and training options) that differ only in their seed are
summarised as a mean and a standard deviation, so a recipe's figure comes with its spread.
"""

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kneegrade_ml.bundle import ModelLoadError, read_card
from kneegrade_ml.training.loop import TrainOptions

METRICS = ("accuracy", "f1_macro", "qwk", "mae", "kl1_recall", "ece")
HEADERS = ("accuracy %", "macro F1 %", "QWK", "MAE", "KL 1 recall %", "ECE")
PERCENT = {"accuracy", "f1_macro", "kl1_recall"}
DESCRIPTION = ("model", "backbone", "head", "px", "epochs", "hardware", "minutes")
COLUMNS = (*DESCRIPTION, *HEADERS)
POOL_LABELS = {"gem": "GeM"}
"""How the table names a pooling other than the average."""
DEFAULTS = asdict(TrainOptions())
"""What an option a card leaves out (or null) was: older cards predate some options."""


@dataclass(frozen=True)
class Result:
    """One trained model's row."""

    name: str
    backbone: str
    head: str
    input_size: int
    standardize: str
    """The histogram standardisation its input gets (``preprocess.STANDARDIZATIONS``)."""
    epochs: int | None
    """None for an ensemble, whose members each have their own."""
    hardware: str
    minutes: float | None
    seed: int | None
    split: str
    n: int
    scores: dict[str, float]
    command: str
    recipe: str
    """The kind and every training option but the seed: what runs of one recipe share."""

    @classmethod
    def from_directory(cls, directory: Path, name: str | None = None) -> "Result":
        """The row of the model in ``directory``, called ``name`` (default: the path)."""
        card = read_card(directory)
        metrics = card.get("metrics")
        if not metrics:
            raise ModelLoadError(f"{directory} has no held-out metrics in its card")
        training = card.get("training", {})
        seconds = training.get("seconds")
        members = training.get("members")
        return cls(
            name=name or str(directory),
            **(_ensemble(card, members) if members else _trained(card)),
            input_size=card["input"]["size"],
            standardize=card["input"].get("standardize", "none"),
            hardware=training.get("hardware", "not recorded"),
            minutes=None if seconds is None else seconds / 60,
            split=metrics["split"],
            n=metrics["n"],
            scores={
                **{m: metrics[m] for m in METRICS if m != "kl1_recall"},
                "kl1_recall": metrics["per_class"]["1"]["recall"],
            },
            command=training.get("command", ""),
        )


def _head(head: str, pool: str) -> str:
    """The output layer, with the pooling where it is not the average every model had before."""
    return head if pool == "avg" else f"{head}, {POOL_LABELS.get(pool, pool)}"


def _trained(card: dict) -> dict:
    """A trained model's recipe: its kind and training options (older cards' gaps filled)."""
    given = {k: v for k, v in card.get("options", {}).items() if v is not None}
    options = {**DEFAULTS, **given}
    return {
        "backbone": card["kind"],
        "head": _head(options["head"], options["pool"]),
        "epochs": options["epochs"],
        "seed": options["seed"],
        "recipe": json.dumps(
            [card["kind"], {k: v for k, v in options.items() if k != "seed"}],
            default=list,
            sort_keys=True,
        ),
    }


def _ensemble(card: dict, members: list[dict]) -> dict:
    """An ensemble's row: its members' kinds and heads; it has no epochs or seed of its own."""
    kinds = Counter(member["kind"] for member in members)
    heads = sorted(
        {_head(m["head"], m.get("pool", "avg")) for m in card["config"]["members"]}
    )
    return {
        "backbone": "ensemble: "
        + " + ".join(f"{n} {kind}" for kind, n in kinds.items()),
        "head": "/".join(heads),
        "epochs": None,
        "seed": None,
        "recipe": json.dumps(["ensemble", [m["weights_sha256"] for m in members]]),
    }


@dataclass(frozen=True)
class SeedSummary:
    """A recipe trained with several seeds: the mean and standard deviation of each score."""

    runs: tuple[Result, ...]

    @property
    def mean(self) -> dict[str, float]:
        return {m: statistics.mean(r.scores[m] for r in self.runs) for m in METRICS}

    @property
    def sd(self) -> dict[str, float]:
        return {m: statistics.stdev(r.scores[m] for r in self.runs) for m in METRICS}


def seed_summaries(results: Sequence[Result]) -> list[SeedSummary]:
    """Every recipe run with more than one seed among ``results``, in order of first
    appearance; a seed listed twice (a trained model and its release) counts once."""
    groups: dict[str, dict[int, Result]] = {}
    for result in results:
        groups.setdefault(result.recipe, {}).setdefault(result.seed, result)
    return [
        SeedSummary(tuple(runs.values())) for runs in groups.values() if len(runs) > 1
    ]


def format_score(metric: str, value: float) -> str:
    return f"{100 * value:.1f}" if metric in PERCENT else f"{value:.3f}"


def table_rows(results: Sequence[Result]) -> list[list[str]]:
    """A row of ``COLUMNS`` per model, then one per recipe trained with several seeds."""
    return [_row(r) for r in results] + [
        _summary_row(summary) for summary in seed_summaries(results)
    ]


def _recipe_cells(r: Result) -> list[str]:
    epochs = "" if r.epochs is None else str(r.epochs)
    size = str(r.input_size)
    if r.standardize != "none":
        size += f" ({r.standardize})"
    return [r.backbone, r.head, size, epochs]


def _row(r: Result) -> list[str]:
    minutes = "" if r.minutes is None else f"{r.minutes:.1f}"
    scores = [format_score(m, r.scores[m]) for m in METRICS]
    return [r.name, *_recipe_cells(r), r.hardware, minutes, *scores]


def _summary_row(summary: SeedSummary) -> list[str]:
    first, mean, sd = summary.runs[0], summary.mean, summary.sd
    seeds = ", ".join(str(run.seed) for run in summary.runs)
    name = f"mean ± sd over seeds {seeds} of {first.name}'s recipe"
    spreads = [
        f"{format_score(m, mean[m])} ± {format_score(m, sd[m])}" for m in METRICS
    ]
    return [name, *_recipe_cells(first), "", "", *spreads]


def scored_on(results: Sequence[Result]) -> str:
    return ", ".join(sorted({f"{r.split} ({r.n} images)" for r in results}))


def markdown_table(results: Sequence[Result]) -> str:
    """The table as Markdown, for a README, with each model's command under it."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    lines += ["", f"Scored on {scored_on(results)}. Commands:", ""]
    lines += [f"- {r.name}: `{r.command}`" for r in results]
    return "\n".join(lines) + "\n"
