"""ONNX Runtime against OpenVINO on the served grader's ONNX graph, alternating, in one run.

The issue's fast path was "ONNX Runtime or OpenVINO, whichever measures faster here". Both run
the same graph the server exports (``onnx_engine.export_network``) on 2 threads, at batch 1 (one
image) and batch 2 (the flip pair); OpenVINO compiled for that batch size (static shapes, its
fastest) with the latency hint. Prints median ms per call and the ratio, and the largest output
difference. OpenVINO is not a dependency of KneeGrade: install it into the venv to run this.

Run: `.venv/bin/pip install openvino==2026.4.1 && .venv/bin/python bench/bench_openvino.py`.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch

from kneegrade_ml.bundle import load_bundle
from kneegrade_ml.onnx_engine import cpu_session, export_network

THREADS = 2
Run = Callable[[np.ndarray], np.ndarray]


def onnx_runtime(model: bytes) -> Run:
    session = cpu_session(model)
    return lambda x: session.run(None, {"input": x})[0]


def openvino_runtime(model: bytes, batch: int, shape: list[int]) -> Run:
    import openvino as ov

    core = ov.Core()
    network = core.read_model(model)
    network.reshape({0: [batch, *shape]})
    compiled = core.compile_model(
        network,
        "CPU",
        {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": THREADS},
    )
    request = compiled.create_infer_request()
    return lambda x: next(iter(request.infer({0: x}).values()))


def median_ms(run: Run, x: np.ndarray, calls: int) -> float:
    for _ in range(3):
        run(x)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=Path("models/efficientnet-lite2-chen2018")
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    if find_spec("openvino") is None:
        print(
            "OpenVINO is not installed: pip install openvino==2026.4.1", file=sys.stderr
        )
        return 2
    torch.set_num_threads(THREADS)
    classifier, _ = load_bundle(args.model)
    spec = classifier.spec
    shape = [spec.channels, spec.size, spec.size]
    model = export_network(classifier)
    rng = np.random.default_rng(0)
    print(f"{args.model}: median ms per call, {args.rounds} alternating rounds")
    for batch in (1, 2):
        x = rng.standard_normal((batch, *shape), dtype=np.float32)
        engines = {
            "ONNX Runtime": onnx_runtime(model),
            "OpenVINO": openvino_runtime(model, batch, shape),
        }
        outputs = [run(x) for run in engines.values()]
        times = {name: [] for name in engines}
        for _ in range(args.rounds):
            for name, run in engines.items():
                times[name].append(median_ms(run, x, args.calls))
        ort_ms, ov_ms = (statistics.median(t) for t in times.values())
        print(
            f"batch {batch}: ONNX Runtime {ort_ms:.2f} ms, OpenVINO {ov_ms:.2f} ms,"
            f" OpenVINO/ONNX Runtime {ov_ms / ort_ms:.2f}x,"
            f" largest logit difference {np.abs(outputs[0] - outputs[1]).max():.1e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
