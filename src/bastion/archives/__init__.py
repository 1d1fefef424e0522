"""Safe reading of wheels and sdists as data.

Nothing here extracts to disk, follows a link or executes anything. Every read is bounded by
:class:`~bastion.archives.limits.Limits` (members, sizes, compression ratio, path shape, time).
This domain knows nothing of the web or the database: upload validation and the scanner both
build on it.
"""

from bastion.archives.limits import DEFAULT_LIMITS, Limits
from bastion.archives.reader import (
    Archive,
    ArchiveError,
    Member,
    MemberKind,
    Problem,
    ZipConfusionError,
    open_archive,
)

__all__ = [
    "DEFAULT_LIMITS",
    "Archive",
    "ArchiveError",
    "Limits",
    "Member",
    "MemberKind",
    "Problem",
    "ZipConfusionError",
    "open_archive",
]
