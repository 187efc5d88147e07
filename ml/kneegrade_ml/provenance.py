"""Where a model came from: the source revision and the command that trained it, for its card."""

import subprocess
from pathlib import Path

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
