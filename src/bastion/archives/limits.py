"""The bounds every archive read respects."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on reading one archive.

    The compression-ratio rule follows PyPI's: a high ratio alone is normal for text-heavy
    archives, so it only counts once the decompressed size is large enough to hurt.
    """

    max_members: int = 20_000
    max_member_size: int = 256 * MiB
    max_total_size: int = 1024 * MiB
    max_ratio: float = 50.0
    ratio_applies_above: int = 64 * MiB
    max_path_length: int = 1024
    max_path_depth: int = 64
    max_seconds: float = 30.0


DEFAULT_LIMITS = Limits()
