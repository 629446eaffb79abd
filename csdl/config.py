"""Where the data lives: `CSDL_DATA_DIR`, else `data/` beside the app."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir(override: str | Path | None = None) -> Path:
    if override:
        return Path(override)
    env = os.environ.get("CSDL_DATA_DIR")
    return Path(env) if env else REPO_ROOT / "data"
