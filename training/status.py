"""``status.json`` of a run folder: written atomically as the run goes, read by the UI."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

STATUS_FILE = "status.json"
ACTIVE_PHASES = ("starting", "loading", "lr_find", "training", "evaluating")
FINAL_PHASES = ("finished", "failed", "cancelled", "interrupted")


def now() -> str:
    """UTC timestamp, ISO 8601, seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to ``path`` through a temp file and rename (readers never see half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, default=str)
    os.replace(tmp, path)


def read_status(run_dir: Path) -> dict:
    """The run's status, ``{}`` when it has none yet or it cannot be read."""
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def update_status(run_dir: Path, **fields) -> dict:
    """Merge ``fields`` into the run's status and write it atomically."""
    status = {**read_status(run_dir), **fields, "updated": now()}
    write_json_atomic(Path(run_dir) / STATUS_FILE, status)
    return status
