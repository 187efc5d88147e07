"""Serving a network through ONNX Runtime: exported in memory from the loaded weights when the
model loads, checked against torch there, then used for every forward pass.

Torch stays the training path, the Grad-CAM path and the fallback: a network that does not export,
or whose ONNX answers differ from torch's by more than ``TOLERANCE``, is served by torch (logged).
"""

import io
import logging
import warnings

import numpy as np
import onnxruntime as ort
import torch

from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.outputs import INFERENCE_BATCH
from kneegrade_ml.runtime import usable_cores

log = logging.getLogger(__name__)

TOLERANCE = 1e-4
"""Largest probability difference from torch allowed on the load-time check."""


class OnnxForward:
    """A classifier's network as an ONNX Runtime session: uint8 pixels in, logits out."""

    def __init__(self, classifier: TorchClassifier):
        self.spec = classifier.spec
        options = ort.SessionOptions()
        options.intra_op_num_threads = usable_cores()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            _export(classifier), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        outputs = []
        for start in range(0, len(pixels), INFERENCE_BATCH):
            batch = self.spec.normalize(pixels[start : start + INFERENCE_BATCH])
            outputs.append(self.session.run(None, {"input": batch.numpy()})[0])
        return torch.from_numpy(np.concatenate(outputs))


def _export(classifier: TorchClassifier) -> bytes:
    """The network (normalised input -> logits) as ONNX bytes, any batch size."""
    network = classifier.network.eval()
    example = torch.zeros(
        1, classifier.spec.channels, classifier.spec.size, classifier.spec.size
    )
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (example,),
            buffer,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    return buffer.getvalue()


def onnx_forward(classifier: TorchClassifier) -> OnnxForward | None:
    """The ONNX Runtime forward of ``classifier``, or None (torch then serves it) when it does
    not export or disagrees with torch on seeded test images."""
    try:
        forward = OnnxForward(classifier)
    except Exception:  # an exporter or runtime that cannot take this network
        log.exception(
            "%s cannot run on ONNX Runtime; serving it with torch", classifier.kind
        )
        return None
    difference = parity(classifier, forward)
    if difference > TOLERANCE:
        log.error(
            "ONNX Runtime differs from torch by %.2g; serving with torch", difference
        )
        return None
    return forward


def parity(classifier: TorchClassifier, forward: OnnxForward, count: int = 4) -> float:
    """Largest probability difference between torch and ``forward`` on seeded noisy gradients
    (radiograph-like: smooth structure plus noise); infinite when a grade differs."""
    generator = torch.Generator().manual_seed(0)
    size = classifier.spec.size
    ramp = torch.linspace(0, 255, size).expand(size, size)
    noise = torch.randint(0, 60, (count, 1, size, size), generator=generator)
    pixels = (ramp * 0.7 + noise).clamp(0, 255).to(torch.uint8)
    reference = classifier.predict_pixels(pixels)
    served = classifier.predict_pixels(pixels, forward=forward)
    if (reference.argmax(1) != served.argmax(1)).any():
        return float("inf")
    return float(np.abs(reference - served).max())
