"""The ``kneegrade`` console command: one entry point for every pipeline step."""

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.summary import describe_dataset
from kneegrade_ml.synth.dataset import SPLIT_SIZES, generate_dataset

console = Console()
errors = Console(stderr=True)


def _synth(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    sizes = {"train": args.train, "test": args.test, "samples": args.samples}
    generate_dataset(args.out, seed=args.seed, split_sizes=sizes, workers=args.workers)
    elapsed = time.perf_counter() - start
    console.print(describe_dataset(args.out))
    console.print(
        f"Wrote {args.out}/labels.csv and {args.out}/contact_sheet.png in {elapsed:.1f} s"
    )


def _data(args: argparse.Namespace) -> None:
    console.print(describe_dataset(args.path))


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``kneegrade <subcommand> ...``."""
    parser = argparse.ArgumentParser(
        prog="kneegrade", description="Kellgren-Lawrence grading of knee radiographs."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="generate the seeded synthetic data set")
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    for split, per_grade in SPLIT_SIZES.items():
        synth.add_argument(
            f"--{split}",
            type=int,
            default=per_grade,
            metavar="N",
            help=f"{split} images per grade (default {per_grade})",
        )
    synth.add_argument(
        "--workers", type=int, default=None, help="processes (default: all cores)"
    )
    synth.set_defaults(run=_synth)

    data = commands.add_parser("data", help="count the images per split and grade")
    data.add_argument("path", type=Path, help="a split folder or a data set root")
    data.set_defaults(run=_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; data problems end with a one-line message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except DatasetError as err:
        errors.print(f"error: {err}", style="red", markup=False, soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
