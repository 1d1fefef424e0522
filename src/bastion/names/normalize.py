"""Name normalisation: PEP 503 canonical form, validity, and the "skeleton" used to spot
names that only differ by separators or by characters that look alike.

Everything here is pure and cheap; nothing imports Django.
"""

from __future__ import annotations

import re

__all__ = [
    "CONFUSABLE_CHARS",
    "CONFUSABLE_SEQUENCES",
    "MAX_NAME_LENGTH",
    "canonicalize",
    "compact",
    "is_valid_name",
    "skeleton",
    "words",
]

#: The longest project name accepted anywhere (upload, web check, command line). The longest
#: of PyPI's 15,000 most downloaded names has 55 characters; the bound keeps every look-alike
#: search over a name (its deletion neighbourhoods grow with the square of its length) small.
MAX_NAME_LENGTH = 128

_SEPARATORS = re.compile(r"[-_.]+")
# PEP 508 / core metadata: ASCII letters and digits, with '-', '_' and '.' allowed inside.
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)

# Multi-character look-alikes, folded before single characters. Order matters: longest first.
CONFUSABLE_SEQUENCES: tuple[tuple[str, str], ...] = (
    ("rn", "m"),
    ("vv", "w"),
)
# Single characters that read as another in common fonts; each maps to one representative.
CONFUSABLE_CHARS: dict[str, str] = {
    "0": "o",
    "1": "l",
    "i": "l",
    "|": "l",
}
_CHAR_TABLE = str.maketrans(CONFUSABLE_CHARS)


def canonicalize(name: str) -> str:
    """PEP 503 normalised form: runs of ``-``, ``_`` and ``.`` become one ``-``; lower case."""
    return _SEPARATORS.sub("-", name.strip()).lower()


def is_valid_name(name: str) -> bool:
    """True when ``name`` is a syntactically valid distribution name (PEP 508) no longer than
    :data:`MAX_NAME_LENGTH`."""
    return len(name) <= MAX_NAME_LENGTH and bool(_VALID.match(name))


def compact(name: str) -> str:
    """The canonical name with every separator removed (``typing-extensions`` -> ``typingextensions``)."""
    return _SEPARATORS.sub("", name).lower()


def skeleton(name: str) -> str:
    """Separators removed and visually confusable characters folded to one representative.

    Two names with the same skeleton read the same to a person skimming a requirements file:
    ``py-yaml``/``pyyaml``, ``requests``/``requ3sts`` is *not* folded (3 is not a letter look-alike
    here), ``djang0``/``django`` and ``rnatplotlib``/``matplotlib`` are. Idempotent.
    """
    s = compact(name)
    for seq, rep in CONFUSABLE_SEQUENCES:
        s = s.replace(seq, rep)
    return s.translate(_CHAR_TABLE)


def words(canonical: str) -> list[str]:
    """The ``-``-separated words of a canonical name."""
    return canonical.split("-")
