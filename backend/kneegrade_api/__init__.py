"""KneeGrade REST API: grades knee X-rays with the models that kneegrade_ml exports."""

import os
from importlib.metadata import PackageNotFoundError, version

# Before torch loads OpenMP: its idle threads sleep instead of spinning, so they do not steal the
# cores ONNX Runtime grades on (a flip-averaged grade took 19.6 ms with spinning, 9.2 without).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("kneegrade-api")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"
