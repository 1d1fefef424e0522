"""Look-alike detection: is a proposed name an imitation of a protected (popular) name?

The protected names are indexed once (a deletion-neighbourhood index for edit distance 1 over
all of them, distance 2 over the most popular, plus maps for separator/confusable folding, word
order and decorative affixes), so one lookup costs a few dozen dictionary probes instead of a
scan over every protected name.

A raw edit distance is not a verdict: popular projects legitimately sit one edit apart
(``pyqt5``/``pyqt6``, ``attr``/``attrs``, ``mypy-boto3-ecs``/``mypy-boto3-ec2``,
``flask-json``/``flask``). Each candidate edit is therefore classified (transposition,
repeated character, keyboard slip, confusable, ...) and judged by how typo-like it is, how long
the imitated name is and how popular; see :class:`Thresholds`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from bastion.names.normalize import CONFUSABLE_SEQUENCES, canonicalize, compact, skeleton

__all__ = [
    "AFFIX",
    "HOMOGLYPH",
    "KINDS",
    "ONE_EDIT",
    "REORDER",
    "SEPARATOR",
    "TWO_EDITS",
    "Edit",
    "LookalikeIndex",
    "Match",
    "Thresholds",
    "classify_edit",
    "keyboard_neighbours",
]


# --------------------------------------------------------------------------- keyboard & glyphs


def _build_keyboard() -> dict[str, frozenset[str]]:
    """Neighbouring keys on a US QWERTY keyboard, from the physical key positions."""
    rows = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
    stagger = (0.0, 0.5, 0.75, 1.25)  # horizontal offset of each row, in key widths
    where = {
        key: (row, col + stagger[row])
        for row, keys in enumerate(rows)
        for col, key in enumerate(keys)
    }
    near: dict[str, set[str]] = {key: set() for key in where}
    for a, (ra, xa) in where.items():
        for b, (rb, xb) in where.items():
            if a == b:
                continue
            if (ra == rb and abs(xa - xb) <= 1.0) or (abs(ra - rb) == 1 and abs(xa - xb) < 0.8):
                near[a].add(b)
    return {k: frozenset(v) for k, v in near.items()}


_KEYBOARD = _build_keyboard()
# Characters that are mistaken for one another when read (both directions listed).
_VISUAL_PAIRS = frozenset(
    {("0", "o"), ("1", "l"), ("1", "i"), ("l", "i"), ("5", "s"), ("u", "v"), ("m", "n"), ("c", "e")}
)
_VOWELS = frozenset("aeiouy")


def keyboard_neighbours(ch: str) -> frozenset[str]:
    """Keys physically next to ``ch`` on a QWERTY keyboard (empty for unknown characters)."""
    return _KEYBOARD.get(ch, frozenset())


def _visual(a: str, b: str) -> bool:
    return (a, b) in _VISUAL_PAIRS or (b, a) in _VISUAL_PAIRS


# --------------------------------------------------------------------------- edit classification


class Edit(NamedTuple):
    """One edit turning the protected name into the candidate.

    ``op`` is ``sub`` (target char ``old`` replaced by ``new``), ``ins`` (``new`` inserted),
    ``del`` (``old`` removed) or ``swap`` (``old``+``new`` are the two swapped chars);
    ``pos`` indexes the candidate for ``sub``/``ins``/``swap`` and the target for ``del``.
    """

    op: str
    pos: int
    old: str
    new: str


def classify_edit(cand: str, target: str) -> Edit | None:
    """The single edit (optimal-string-alignment distance 1) from ``target`` to ``cand``, if any."""
    lc, lt = len(cand), len(target)
    if lc == lt:
        i = 0
        while i < lc and cand[i] == target[i]:
            i += 1
        if i == lc:
            return None
        if cand[i + 1 :] == target[i + 1 :]:
            return Edit("sub", i, target[i], cand[i])
        if (
            i + 1 < lc
            and cand[i] == target[i + 1]
            and cand[i + 1] == target[i]
            and cand[i + 2 :] == target[i + 2 :]
        ):
            return Edit("swap", i, target[i], target[i + 1])
        return None
    if lc == lt + 1:
        i = 0
        while i < lt and cand[i] == target[i]:
            i += 1
        if cand[i + 1 :] == target[i:]:
            return Edit("ins", i, "", cand[i])
        return None
    if lc == lt - 1:
        i = 0
        while i < lc and cand[i] == target[i]:
            i += 1
        if cand[i:] == target[i + 1 :]:
            return Edit("del", i, target[i], "")
        return None
    return None


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, capped at ``limit`` (returns ``limit`` if >=)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) >= limit:
        return limit
    before: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        ca = a[i - 1]
        cur = [i] + [0] * lb
        best = i
        for j in range(1, lb + 1):
            cb = b[j - 1]
            v = prev[j - 1] + (ca != cb)
            if prev[j] + 1 < v:
                v = prev[j] + 1
            if cur[j - 1] + 1 < v:
                v = cur[j - 1] + 1
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and before[j - 2] + 1 < v:
                v = before[j - 2] + 1
            cur[j] = v
            if v < best:
                best = v
        if best >= limit:
            return limit
        before, prev = prev, cur
    return min(prev[lb], limit)


# --------------------------------------------------------------------------- policy knobs


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Tunable limits.

    Lengths count the letters and digits of the imitated (protected) name. Several rules use the
    name's *exposure*: its length plus a bonus for popularity (see :meth:`exposure`), because a
    long name is rarely hit by accident and a popular one is what squatters aim at.
    """

    #: transposed neighbours, doubled or un-doubled letters, look-alike characters.
    slip_min_len: int = 4
    #: a character replaced by a keyboard neighbour (not the first character).
    neighbour_min_exposure: int = 9
    #: a character replaced by an unrelated one (not the first): only very popular names.
    other_sub_min_len: int = 6
    other_sub_max_rank: int = 200
    #: ... or any single-word name this exposed (long names do not collide by accident).
    other_sub_min_exposure: int = 13
    #: a vowel replaced by another inside a single-word name (short names collide by chance).
    vowel_min_len: int = 7
    #: a character dropped from inside the name.
    omit_inner_min_exposure: int = 10
    #: the last character dropped (a trailing plural "s" needs ``omit_plural_min_len``).
    omit_end_min_len: int = 6
    omit_plural_min_len: int = 9
    #: the first character dropped.
    omit_start_min_len: int = 7
    omit_start_max_rank: int = 1000
    #: an extra key next to its neighbour on the keyboard, anywhere in the name.
    fat_finger_min_len: int = 5
    #: an extra character inside / at the end of the name (never at the start: new word)...
    extra_inner_min_len: int = 6
    extra_end_min_len: int = 6
    #: ... or in a shorter name this exposed (five letters in the top 200: flask).
    popular_min_exposure: int = 9
    #: the letter after a leading "py" starts a new word (pyathena/pythena), except in
    #: names this popular.
    py_word_max_rank: int = 200
    #: distance-2 look-alikes: only for the most popular single-word names.
    edit2_max_rank: int = 1000
    edit2_min_len: int = 8
    #: separator-only differences (``gitpython``/``git-python``): the most popular names only;
    #: further down, such pairs are as often two real projects.
    separator_max_rank: int = 100
    separator_min_len: int = 4
    #: reordered words are refused when the name has at least this many words.
    reorder_min_words: int = 3
    #: a word this short inside a multi-word name is a code (service, version, region);
    #: changing it is a different project, not a typo (``mypy-boto3-ecs``/``mypy-boto3-ec2``).
    short_word_len: int = 3
    #: popularity bonus: (max rank, bonus) steps, first match wins. Squat campaigns aim dozens
    #: of variants at one of the most popular names, so the top 200 weigh most.
    popularity_bonus: tuple[tuple[int, int], ...] = ((200, 4), (1000, 2), (5000, 1))

    def exposure(self, length: int, rank: int) -> int:
        for max_rank, bonus in self.popularity_bonus:
            if rank <= max_rank:
                return length + bonus
        return length


DEFAULT_THRESHOLDS = Thresholds()


#: The kinds of imitation, as stable codes (the JSON output's ``kind``), and how a sentence
#: names them.
ONE_EDIT = "one-edit"
TWO_EDITS = "two-edits"
AFFIX = "affix"
SEPARATOR = "separator"
HOMOGLYPH = "homoglyph"
REORDER = "reorder"
KINDS: dict[str, str] = {
    ONE_EDIT: "one edit",
    TWO_EDITS: "two edits",
    AFFIX: "affix",
    SEPARATOR: "separator",
    HOMOGLYPH: "homoglyph",
    REORDER: "reorder",
}


@dataclass(frozen=True, slots=True)
class Match:
    """Why a name imitates ``target``.

    ``kind`` is one of :data:`KINDS` (a stable code); ``detail`` says what was done to the
    target's name, as a sentence part (``two letters swapped``, ``'-lib' added at the end``).
    """

    target: str
    kind: str
    detail: str

    def reason(self, name: str) -> str:
        """The sentence a publisher reads: the name, the project it imitates and how.

        It keeps PyPI's "too similar to an existing project" and names the project and the
        kind of imitation, so the publisher can tell a typo from a clash of families.
        """
        return (
            f"The name '{name}' is too similar to an existing project, '{self.target}' "
            f"({KINDS[self.kind]}: {self.detail})."
        )


# Decorations that add no meaning to a name: "X-py" reads as "X". Suffixes are compared on the
# canonical name (``-py``) and glued (``py``); prefixes likewise.
_DECORATION_SUFFIXES: tuple[str, ...] = (
    "-py",
    "py",
    "-lib",
    "lib",
    "-dev",
    "-pkg",
    "-package",
    "-official",
    "-sdk",
)
_DECORATION_PREFIXES: tuple[str, ...] = ("lib-", "lib", "the-", "official-")
# "py"/"python" in front and "-python" behind are how Python bindings of X are named (pykafka,
# python-igraph, opencv-python), and companions carry real words (-client, -core, -api): those
# are allowed.
# Decorations that only count against very popular names.
_POPULAR_ONLY_SUFFIXES = frozenset({"-sdk"})


def _deletes1(s: str) -> list[str]:
    return [s[:i] + s[i + 1 :] for i in range(len(s))]


def _deletes2(s: str) -> set[str]:
    out = set()
    n = len(s)
    for i in range(n):
        a = s[:i] + s[i + 1 :]
        out.add(a)
        for j in range(i, n - 1):
            out.add(a[:j] + a[j + 1 :])
    return out


def _word_span(name: str, pos: int) -> tuple[int, int]:
    """The [start, end) bounds of the ``-``-word of ``name`` containing index ``pos``."""
    start = name.rfind("-", 0, pos) + 1
    end = name.find("-", pos)
    return start, (len(name) if end < 0 else end)


class LookalikeIndex:
    """Protected names, most popular first, indexed for look-alike queries."""

    def __init__(
        self,
        protected: Iterable[str],
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self.thresholds = thresholds
        self.names: list[str] = []
        self.rank: dict[str, int] = {}
        #: The names as given, so that a caller can tell whether a longer list extends them.
        self.source: tuple[str, ...] = ()
        self._del1: dict[str, list[str]] | None = None
        self._del2: dict[str, list[str]] | None = None
        #: The longest name in ``_del2``: a candidate more than two letters longer has no key
        #: there, and its depth-2 neighbourhood (cubic in its length) is not worth building.
        self._del2_max_len = 0
        self._folded: dict[str, str] | None = None
        self._words: dict[tuple[str, ...], str] | None = None
        self.extend(protected)

    def extend(self, more: Iterable[str]) -> None:
        """Add less popular names after the current ones.

        The result is the index built from the longer list at once: names keep their ranks,
        and every lookup table keeps its best-ranked entry first. An index of an index's own
        projects grows by one name per new project, and rebuilding it took ~0.2 s at 10,000.
        Callers serialise writers; a concurrent query sees the table before or after a name.
        """
        added: list[str] = []
        more = tuple(more)
        self.source += more
        for raw in more:
            name = canonicalize(raw)
            if name and name not in self.rank:
                self.rank[name] = len(self.names) + 1
                self.names.append(name)
                added.append(name)
        if self._del1 is not None and added:
            self._index(added)

    def __contains__(self, name: str) -> bool:
        return name in self.rank

    def __len__(self) -> int:
        return len(self.names)

    # ----------------------------------------------------------------- lazily built indexes

    def _build(self) -> None:
        self._del1, self._del2, self._folded, self._words = {}, {}, {}, {}
        self._del2_max_len = 0
        self._index(self.names)

    def _index(self, names: list[str]) -> None:
        """Add ``names`` (in rank order, after every name already indexed) to the tables."""
        del1, del2 = self._del1, self._del2
        folded, word_map = self._folded, self._words
        assert del1 is not None and del2 is not None and folded is not None
        assert word_map is not None
        for name in names:  # most popular first: setdefault keeps the best-ranked
            for d in {name, *_deletes1(name)}:
                del1.setdefault(d, []).append(name)
            folded.setdefault(compact(name), name)
            folded.setdefault("\0" + skeleton(name), name)
            if "-" in name:
                word_map.setdefault(tuple(sorted(name.split("-"))), name)
        t = self.thresholds
        for name in names:
            if self.rank[name] > t.edit2_max_rank:
                break
            if len(name) < t.edit2_min_len or "-" in name:
                continue
            # The name itself too: a candidate with two letters added deletes down to it.
            for d in _deletes2(name) | {name}:
                del2.setdefault(d, []).append(name)
            self._del2_max_len = max(self._del2_max_len, len(name))

    # ----------------------------------------------------------------- queries

    def match(self, cand: str) -> Match | None:
        """The imitation ``cand`` (canonical) commits, or None. Protected names never match."""
        if cand in self.rank:
            return None
        if self._del1 is None:
            self._build()
        return (
            self._match_folded(cand)
            or self._match_edit1(cand)
            or self._match_words(cand)
            or self._match_affix(cand)
            or self._match_edit2(cand)
        )

    def _match_folded(self, cand: str) -> Match | None:
        assert self._folded is not None
        flat = cand.replace("-", "")  # cand is canonical: only '-' separators remain
        t = self._folded.get(flat)
        if t is not None and t != cand:
            th = self.thresholds
            if len(compact(t)) >= th.separator_min_len and self.rank[t] <= th.separator_max_rank:
                return Match(t, SEPARATOR, "the same letters, other separators")
            return None
        t = self._folded.get("\0" + skeleton(flat))
        if t is not None and t != cand:
            return Match(t, HOMOGLYPH, _glyphs(cand, t))
        return None

    def _match_edit1(self, cand: str) -> Match | None:
        assert self._del1 is not None
        best: tuple[int, Match] | None = None
        for target in _targets(self._del1, [cand, *_deletes1(cand)]):
            r = self.rank[target]
            if best is not None and r >= best[0]:
                continue
            edit = classify_edit(cand, target)
            if edit is None:
                continue
            m = self._judge_edit1(cand, target, r, edit)
            if m is not None:
                best = (r, m)
        return best[1] if best else None

    def _judge_edit1(self, cand: str, target: str, rank: int, e: Edit) -> Match | None:
        t = self.thresholds
        n = len(target) - target.count("-")
        op, pos = e.op, e.pos
        ch = e.new or e.old
        if ch == "-" or (op == "swap" and "-" in (e.old, e.new)):
            return None  # separator games are judged by _match_folded
        # The word of the protected name that the edit touches.
        tpos = min(pos, len(target) - 1)
        if op == "ins" and tpos > 0 and target[tpos] == "-":
            tpos -= 1
        ws, we = _word_span(target, tpos)
        multiword = "-" in target
        doubled = (op == "ins" and _repeats(cand, pos, ch)) or (
            op == "del" and _repeats(target, pos, ch)
        )
        if multiword and we - ws <= t.short_word_len and not doubled:
            return None  # a different short code word, not a typo
        # Digits: versions and variants (pyqt5/pyqt6, fpdf/fpdf2, phonopy/phono3py), unless doubled.
        if op == "sub" and e.old.isdigit() and e.new.isdigit():
            return None
        if op in ("ins", "del") and ch.isdigit():
            ref = cand if op == "ins" else target
            if not _repeats(ref, pos, ch):
                return None
        word_start = pos == ws if op != "ins" else (pos == 0 or cand[pos - 1] == "-")
        if _after_py(target, pos) and not doubled and rank > t.py_word_max_rank:
            # "py" + a word (pyathena): the word's first letter is a new word's, as at the
            # start of a name (pythena, pyescrypt are other projects); the most popular
            # names (pycparser/pyparser) are guarded all the same.
            if op == "del" or (op == "ins" and not _fat_finger(cand, pos, ch)):
                return None
            word_start = True
        if not doubled and (
            (op == "ins" and _py_merged(cand, target))
            or (pos < 2 and cand.startswith("py") and not target.startswith("py"))
        ):
            # "py" glued onto a name sharing its p or y (pyandoc, pyaml), or a name's start
            # made "py" (pygerduty): how Python bindings are named, not a slip.
            return None

        if op == "swap":
            if n >= t.slip_min_len:
                return Match(target, ONE_EDIT, "two letters swapped")
            return None
        if op == "sub":
            if _visual(e.old, e.new):
                if e.old.isdigit() and pos == len(target) - 1:
                    return None  # the target's version digit made a letter (json5/jsons)
                if n >= t.slip_min_len:
                    return Match(target, HOMOGLYPH, f"'{e.new}' for '{e.old}'")
                return None
            if word_start:
                return None  # a new first letter makes a new word (config/donfig, record/decord)
            if e.new in keyboard_neighbours(e.old):
                if t.exposure(n, rank) >= t.neighbour_min_exposure:
                    return Match(target, ONE_EDIT, f"'{e.new}' for the neighbouring key '{e.old}'")
                return None
            if e.old in _VOWELS and e.new in _VOWELS and not multiword and n >= t.vowel_min_len:
                # A misspelt vowel inside a long word (pystile): how a name is misremembered.
                return Match(target, ONE_EDIT, f"'{e.new}' for '{e.old}'")
            if (n >= t.other_sub_min_len and rank <= t.other_sub_max_rank) or (
                not multiword and t.exposure(n, rank) >= t.other_sub_min_exposure
            ):
                return Match(target, ONE_EDIT, f"'{e.new}' for '{e.old}'")
            return None
        if op == "ins":
            if _repeats(cand, pos, ch):
                if n >= t.slip_min_len:
                    return Match(target, ONE_EDIT, f"'{ch}' doubled")
                return None
            beside = _fat_finger(cand, pos, ch)
            if beside and n >= t.fat_finger_min_len:
                # A key pressed with its neighbour: a slip wherever it is (ytorch, cvint).
                return Match(target, ONE_EDIT, f"an extra '{ch}' beside the key '{beside}'")
            if word_start:
                return None  # a new leading letter usually makes a new word (aiopath, jdatetime)
            if pos == len(cand) - 1:
                if ch != "x" and (
                    n >= t.extra_end_min_len or t.exposure(n, rank) >= t.popular_min_exposure
                ):
                    return Match(target, ONE_EDIT, f"an extra '{ch}' at the end")
                return None
            if n >= t.extra_inner_min_len or t.exposure(n, rank) >= t.popular_min_exposure:
                return Match(target, ONE_EDIT, f"an extra '{ch}'")
            return None
        # op == "del"
        if _repeats(target, pos, ch):
            if n >= t.slip_min_len:
                return Match(target, ONE_EDIT, f"one '{ch}' of two dropped")
            return None
        if pos == 0:
            if n >= t.omit_start_min_len and rank <= t.omit_start_max_rank:
                return Match(target, ONE_EDIT, "the first letter dropped")
            return None
        if pos == len(target) - 1:
            if n >= (t.omit_plural_min_len if ch == "s" else t.omit_end_min_len):
                return Match(target, ONE_EDIT, "the last letter dropped")
            return None
        if t.exposure(n, rank) >= t.omit_inner_min_exposure:
            return Match(target, ONE_EDIT, f"'{ch}' dropped")
        return None

    def _match_words(self, cand: str) -> Match | None:
        assert self._words is not None
        if "-" not in cand:
            return None
        parts = cand.split("-")
        if len(parts) < self.thresholds.reorder_min_words:
            return None
        t = self._words.get(tuple(sorted(parts)))
        if t is not None and t != cand:
            return Match(t, REORDER, "the same words in another order")
        return None

    def _match_affix(self, cand: str) -> Match | None:
        rank = self.rank
        best: tuple[int, Match] | None = None

        def offer(target: str, detail: str) -> None:
            nonlocal best
            r = rank[target]
            if best is None or r < best[0]:
                best = (r, Match(target, AFFIX, detail))

        for s in _DECORATION_SUFFIXES:
            if cand.endswith(s):
                base = cand[: -len(s)].strip("-")
                if len(base) >= 3 and base in rank:
                    if s in _POPULAR_ONLY_SUFFIXES and rank[base] > self.thresholds.edit2_max_rank:
                        continue
                    offer(base, f"'{s}' added at the end")
        for p in _DECORATION_PREFIXES:
            if cand.startswith(p):
                base = cand[len(p) :].strip("-")
                if len(base) >= 3 and base in rank:
                    offer(base, f"'{p}' added in front")
        return best[1] if best else None

    def _match_edit2(self, cand: str) -> Match | None:
        assert self._del2 is not None
        t = self.thresholds
        if "-" in cand or not t.edit2_min_len - 1 <= len(cand) <= self._del2_max_len + 2:
            return None
        best: tuple[int, str] | None = None
        for target in _targets(self._del2, _deletes2(cand) | {cand}):
            r = self.rank[target]
            if best is not None and r >= best[0]:
                continue
            if (
                (cand.startswith(target) and cand[len(target) :].strip(target[-1]))
                or (cand.endswith(target) and cand[: -len(target)].strip(target[0]))
                or target.startswith(cand)
                or target.endswith(cand)
            ):
                # A name extended or cut at either end (pyrequests, tabulate2): another
                # word, not a typo; a held key (pycparserrr) is one.
                continue
            if _digit_only_difference(cand, target):
                continue
            if osa_distance(cand, target, 3) == 2:
                best = (r, target)
        if best is None:
            return None
        return Match(best[1], TWO_EDITS, "two letters changed")


def _targets(table: dict[str, list[str]], keys: Iterable[str]) -> Iterator[str]:
    """The protected names filed under any of ``keys`` in a deletion index, each once."""
    seen: set[str] = set()
    for key in keys:
        for target in table.get(key, ()):
            if target not in seen:
                seen.add(target)
                yield target


def _after_py(target: str, pos: int) -> bool:
    """Whether ``pos`` is the first letter of the word after a leading "py" (``pyathena``)."""
    return pos == 2 and target.startswith("py") and len(target.split("-", 1)[0]) > 5


def _py_merged(cand: str, target: str) -> bool:
    """``cand`` is "py" glued in front of ``target`` with a shared letter (py+pandoc, py+yaml)."""
    return (target[0] == "p" and cand == "py" + target[1:]) or (
        target[0] == "y" and cand == "p" + target
    )


def _fat_finger(cand: str, pos: int, ch: str) -> str:
    """The letter beside an inserted ``ch`` (at ``cand[pos]``) whose key neighbours ``ch`` on
    the keyboard, or "": a finger that hit two keys at once."""
    near = keyboard_neighbours(ch)
    for i in (pos + 1, pos - 1):
        if 0 <= i < len(cand) and cand[i] in near:
            return cand[i]
    return ""


def _repeats(s: str, pos: int, ch: str) -> bool:
    """True when ``ch`` at ``s[pos]`` sits next to an identical character."""
    return (pos > 0 and s[pos - 1] == ch) or (pos + 1 < len(s) and s[pos + 1] == ch)


def _digit_only_difference(a: str, b: str) -> bool:
    return a.rstrip("0123456789") == b.rstrip("0123456789")


def _glyphs(cand: str, target: str) -> str:
    """What reads alike, e.g. ``'1' for 'l'``: the first differing look-alike, when obvious."""
    a, b = compact(cand), compact(target)
    for x, y in CONFUSABLE_SEQUENCES:
        if x in a and y in b and x not in b:
            return f"'{x}' for '{y}'"
    if len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            if x != y:
                return f"'{x}' for '{y}'"
    return "characters that read alike"
