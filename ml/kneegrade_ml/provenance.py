"""Where a model came from: the source revision, the command and the hardware that trained it,
for its card."""

import platform
import subprocess
from pathlib import Path

import torch

from kneegrade_ml.runtime import usable_cores

PACKAGE_DIR = Path(__file__).resolve().parent


def source_revision() -> dict | None:
    """The git commit of this source tree and whether it had uncommitted changes (None outside
    a git checkout), so a card names exactly the code that trained its weights."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(PACKAGE_DIR), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def hardware(device: torch.device | str) -> str:
    """What trained the weights, for a results table's time column: the GPU's name, or the CPU's
    model and the cores this process could use."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cores = usable_cores()
    return f"{cpu_model()}, {cores} core{'' if cores == 1 else 's'}"


def cpu_model() -> str:
    """The CPU's marketing name (Linux's /proc/cpuinfo), else what the platform reports."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "CPU"
