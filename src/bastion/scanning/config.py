"""Scanner configuration: limits, budgets and where operators' YARA rules live."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from bastion.archives import Limits

MiB = 1024 * 1024

#: Environment variable naming a folder of extra ``*.yar`` / ``*.yara`` rules (read by
#: ``bastion.config``; the scan task and ``bastion scan`` pass it in as ``rules_dir``).
RULES_DIR_ENV = "BASTION_SCAN_RULES_DIR"


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """How one scan is bounded.

    ``max_file_bytes`` is how much of each member is read at once for the byte rules; a
    Python or ``.pth`` file larger than that is then streamed to its end in chunks (bounded
    memory), so no size hides its end. ``max_python_bytes`` caps the code of one file that is
    parsed, once comment-only and blank lines are left out; ``max_parse_bytes`` caps the
    Python parsed in the whole archive (parsing is the scan's main cost: about 1-2 s per MB of
    dense code), so that megabytes of generated code cannot use up the time budget before the
    file that matters is reached. ``max_seconds`` is the time budget for the whole archive
    (reading and rules). What any of these leaves unexamined is a *gap* in the result, which
    then is not complete. ``rules_dir`` adds an operator's own YARA rules to the bundled ones.
    """

    # The archives domain's bounds, with the scan's time budget.
    limits: Limits = field(default_factory=lambda: Limits(max_seconds=20.0))
    max_file_bytes: int = 4 * MiB
    max_python_bytes: int = 2 * MiB
    # The largest popular wheels parse under 3 MB (sympy 2.8, plotly 2.4); 8 MiB leaves room
    # for three times that and still fits the time budget on dense code.
    max_parse_bytes: int = 8 * MiB
    max_seconds: float = 20.0
    rules_dir: Path | None = None

    def scaled(self, factor: float) -> ScanConfig:
        """The same scan with ``factor`` times the time and parse budgets (the worker's retry
        of a scan that was incomplete for want of them). Memory bounds stay as they are."""
        return dataclasses.replace(
            self,
            limits=dataclasses.replace(self.limits, max_seconds=self.limits.max_seconds * factor),
            max_python_bytes=int(self.max_python_bytes * factor),
            max_parse_bytes=int(self.max_parse_bytes * factor),
            max_seconds=self.max_seconds * factor,
        )


DEFAULT_CONFIG = ScanConfig()
