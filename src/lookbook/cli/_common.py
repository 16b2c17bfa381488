"""Small helpers shared by the CLI verbs: a verb's result goes to stdout, logs go to stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: The real full-body photos beside this repository (``../shared/data/photos``), the default of the
#: shop-the-look evaluation and benchmark.
REAL_PHOTOS = Path("../shared/data/photos")


def emit(text: str) -> None:
    """Write a verb's human-readable result to stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_json(obj: Any) -> None:
    """Write one JSON object to stdout: the machine-readable result of a verb."""
    emit(json.dumps(obj, indent=2, sort_keys=False, default=str))
