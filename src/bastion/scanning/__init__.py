"""Static analysis of distribution files: malware rules and verdicts.

The public entry point is :func:`scan_file`; it reads an archive as data (through
:mod:`bastion.archives`), never extracts or executes anything, and returns a
:class:`ScanResult` with a verdict (``clean``, ``suspicious`` or ``malicious``), a 0-100 score
and the findings behind it. This package must not import Django: ``bastion scan`` runs without
a server or a database.
"""

from bastion.scanning.config import DEFAULT_CONFIG, RULES_DIR_ENV, ScanConfig
from bastion.scanning.engine import scan_bytes, scan_file
from bastion.scanning.result import Finding, ScanResult, Severity, Verdict

__all__ = [
    "DEFAULT_CONFIG",
    "RULES_DIR_ENV",
    "Finding",
    "ScanConfig",
    "ScanResult",
    "Severity",
    "Verdict",
    "scan_bytes",
    "scan_file",
]
