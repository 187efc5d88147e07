"""Serving a network through ONNX Runtime: exported in memory from the loaded weights when the
model loads, checked against torch there, then used for every forward pass; or the release's
int8 network, checked against the answers its card recorded.

Torch stays the training path, the Grad-CAM path and the fallback: a network that does not export,
or whose ONNX answers differ from torch's by more than ``TOLERANCE``, is served by torch (logged).
"""

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.outputs import INFERENCE_BATCH
from kneegrade_ml.runtime import exact_int8_kernels, usable_cores

log = logging.getLogger(__name__)

TOLERANCE = 1e-4
"""Largest probability difference from torch allowed on the load-time check."""
CHECK_TOLERANCE = 0.01
"""Largest probability difference of an int8 network on the check images from what its release
recorded: rounding differs in the last place between CPUs; saturated arithmetic by far more."""


class OnnxForward:
    """A classifier's network as an ONNX Runtime session: uint8 pixels in, logits out.

    ``model`` is a release's int8 ONNX bytes of that network; by default its float32 export."""

    def __init__(self, classifier: TorchClassifier, model: bytes | None = None):
        spec = self.spec = classifier.spec
        shape = (1, spec.channels, 1, 1)
        self.channels = spec.channels
        self.mean = np.asarray(spec.mean, np.float32).reshape(shape) * 255
        self.scale = 1 / (np.asarray(spec.std, np.float32).reshape(shape) * 255)
        self.precision = "float32" if model is None else "int8"
        self.session = cpu_session(model or export_network(classifier))

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        outputs = []
        for start in range(0, len(pixels), INFERENCE_BATCH):
            batch = pixels[start : start + INFERENCE_BATCH]
            batch = self.normalize(self.spec.standardized(batch).numpy())
            outputs.append(self.session.run(None, {"input": batch})[0])
        return torch.from_numpy(np.concatenate(outputs))

    def normalize(self, pixels: np.ndarray) -> np.ndarray:
        """``InputSpec.normalize`` of standardised pixels, in NumPy: torch's thread pool stays
        idle while ONNX Runtime's works (the two spinning together cost more than the
        arithmetic)."""
        gray = pixels.astype(np.float32)
        return np.ascontiguousarray(
            (np.repeat(gray, self.channels, axis=1) - self.mean) * self.scale
        )


def cpu_session(model: bytes) -> ort.InferenceSession:
    """An ONNX Runtime session on every core this process may use, one operator at a time.

    Its threads sleep when idle rather than spin: the localiser's and the grader's sessions
    share the cores, and a spinning pool steals them from the other (a localised grade took
    29.6 ms with spinning, 15.8 ms without).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = usable_cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def export_network(classifier: TorchClassifier) -> bytes:
    """``classifier``'s network as float32 ONNX bytes, for any batch size."""
    spec = classifier.spec
    example = torch.zeros(1, spec.channels, spec.size, spec.size)
    return export_module(classifier.network.eval(), example)


def export_module(module: torch.nn.Module, example: torch.Tensor) -> bytes:
    """``module`` (in eval mode; ``example``'s shape but any batch size) as ONNX bytes, its input
    named ``input``."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (example,),
            buffer,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            dynamo=False,
        )
    return buffer.getvalue()


def onnx_forward(classifier: TorchClassifier) -> OnnxForward | None:
    """The ONNX Runtime forward of ``classifier``, or None (torch then serves it) when it does
    not export, fails on the seeded test images or disagrees with torch on them."""
    try:
        forward = OnnxForward(classifier)
        difference = parity(classifier, forward)
    except Exception:  # an exporter or runtime that cannot take this network
        log.exception(
            "%s cannot run on ONNX Runtime; serving it with torch", classifier.kind
        )
        return None
    if difference > TOLERANCE:
        log.error(
            "ONNX Runtime differs from torch by %.2g; serving with torch", difference
        )
        return None
    return forward


def check_pixels(size: int, count: int = 4) -> torch.Tensor:
    """The check images: seeded noisy gradients, uint8 (count, 1, size, size), radiograph-like
    (smooth structure plus noise) and the same on every machine."""
    generator = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 255, size).expand(size, size)
    noise = torch.randint(0, 60, (count, 1, size, size), generator=generator)
    return (ramp * 0.7 + noise).clamp(0, 255).to(torch.uint8)


def check_probabilities(
    classifier: TorchClassifier, forward: OnnxForward | None = None
) -> np.ndarray:
    """Probabilities on the check images through ``forward`` (torch when None), as a release
    records them and a server compares them."""
    return classifier.predict_pixels(
        check_pixels(classifier.spec.size), forward=forward
    )


def parity(classifier: TorchClassifier, forward: OnnxForward) -> float:
    """Largest probability difference between torch and ``forward`` on the check images;
    infinite when a grade differs."""
    reference = check_probabilities(classifier)
    served = check_probabilities(classifier, forward)
    if (reference.argmax(1) != served.argmax(1)).any():
        return float("inf")
    return float(np.abs(reference - served).max())


def int8_forward(
    classifier: TorchClassifier, directory: Path, card: dict
) -> OnnxForward | None:
    """The release's int8 network, or None where there is none, or this CPU's int8 arithmetic
    is not exact, or it answers the check images otherwise than the release did (logged)."""
    record = (card.get("serving") or {}).get("int8")
    if not record:
        return None
    if not exact_int8_kernels():
        log.warning(
            "%s: int8 arithmetic saturates on this CPU (x86 without VNNI); serving float32",
            directory,
        )
        return None
    try:
        forward = OnnxForward(classifier, (directory / record["file"]).read_bytes())
        answers = check_probabilities(classifier, forward)
    except Exception:  # a runtime that cannot load the file: float32 serves
        log.exception("%s: cannot serve its int8 network; serving float32", directory)
        return None
    recorded = np.asarray(record["check_probabilities"])
    difference = float(np.abs(answers - recorded).max())
    if difference > CHECK_TOLERANCE:
        log.error(
            "%s: int8 answers differ from the release's by %.2g on this CPU; serving float32",
            directory,
            difference,
        )
        return None
    return forward
