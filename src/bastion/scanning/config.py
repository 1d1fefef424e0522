"""Scanner configuration: limits, budgets and where operators' YARA rules live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bastion.archives import Limits

MiB = 1024 * 1024

#: Environment variable naming a folder of extra ``*.yar`` / ``*.yara`` rules.
RULES_DIR_ENV = "BASTION_SCAN_RULES_DIR"


def _default_rules_dir() -> Path | None:
    value = os.environ.get(RULES_DIR_ENV, "").strip()
    return Path(value) if value else None


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """How one scan is bounded.

    ``max_file_bytes`` caps how much of each member is read (the rest is not looked at);
    ``max_python_bytes`` caps which Python files are parsed; ``max_seconds`` is the time
    budget for the whole archive (reading and rules), after which the scan stops with a
    finding. ``rules_dir`` adds an operator's own YARA rules to the bundled ones.
    """

    # The archives domain's bounds, with the scan's time budget.
    limits: Limits = field(default_factory=lambda: Limits(max_seconds=20.0))
    max_file_bytes: int = 4 * MiB
    max_python_bytes: int = 2 * MiB
    max_seconds: float = 20.0
    rules_dir: Path | None = field(default_factory=_default_rules_dir)


DEFAULT_CONFIG = ScanConfig()
