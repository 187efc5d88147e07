"""Int8 networks for serving, made when a model is released (``kneegrade release --int8``).

ONNX Runtime's static QDQ quantisation: int8 weights per output channel and uint8 activations,
whose ranges are the moving average of their minima and maxima over batches of training images
and their mirrors (the served grade averages both). The release measures the int8 network on
the held-out split and records its answers on seeded check images, which the server checks
before it serves the file (``onnx_engine.int8_forward``).
"""

import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from kneegrade_ml.data.folders import Sample
from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.outputs import INFERENCE_BATCH
from kneegrade_ml.onnx_engine import OnnxForward, check_probabilities, export_network

INT8_FILE = "model.int8.onnx"
CALIBRATION_IMAGES = 300
CALIBRATION_SEED = 0
METHOD = (
    "static QDQ quantisation, int8 weights per output channel, uint8 activations whose ranges"
    " are the moving average of min/max over calibration batches"
)


def calibration_samples(samples: Sequence[Sample]) -> list[Sample]:
    """The seeded training images the activation ranges are measured on."""
    count = min(CALIBRATION_IMAGES, len(samples))
    return random.Random(CALIBRATION_SEED).sample(list(samples), count)


class _Batches(CalibrationDataReader):
    """Normalised calibration batches, each image followed by its mirror."""

    def __init__(self, classifier: TorchClassifier, pixels: torch.Tensor):
        both = torch.cat([pixels, pixels.flip(-1)])
        normalised = classifier.spec.normalize(both).contiguous().numpy()
        self.batches: Iterator[np.ndarray] = iter(
            np.split(normalised, range(INFERENCE_BATCH, len(both), INFERENCE_BATCH))
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {"input": batch}


def quantize_network(classifier: TorchClassifier, pixels: torch.Tensor) -> bytes:
    """``classifier``'s network as int8 ONNX bytes, its activation ranges measured on uint8
    ``pixels`` (N, 1, size, size)."""
    with TemporaryDirectory() as folder:
        exported, prepared, quantized = (
            Path(folder) / name for name in ("float.onnx", "prepared.onnx", "int8.onnx")
        )
        exported.write_bytes(export_network(classifier))
        quant_pre_process(str(exported), str(prepared))
        quantize_static(
            str(prepared),
            str(quantized),
            _Batches(classifier, pixels),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},
        )
        return quantized.read_bytes()


def int8_record(
    classifier: TorchClassifier, forward: OnnxForward, calibration: Sequence[Sample]
) -> dict:
    """The card's record of an int8 network (``forward``): how it was made and its check
    answers."""
    return {
        "file": INT8_FILE,
        "method": METHOD,
        "calibration": {
            "split": "train",
            "images": len(calibration),
            "seed": CALIBRATION_SEED,
            "mirrored": True,
        },
        "onnxruntime": onnxruntime.__version__,
        "check_probabilities": check_probabilities(classifier, forward).tolist(),
    }
