"""KneeGrade REST API: grades knee X-rays with the models that kneegrade_ml exports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kneegrade-api")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"
