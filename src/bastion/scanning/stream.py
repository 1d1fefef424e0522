"""Examine a member too large to read whole: chunks with overlap, bounded memory.

The engine reads the first ``max_file_bytes`` of every member and parses Python files up to
``max_python_bytes``. A payload placed after megabytes of padding would sit beyond both, so a
code file that is larger than what was read or parsed is streamed here, once, from its start
to its end (the archive's member-size limit still applies):

* every chunk is searched for the tokens of :data:`TOKEN_FACTS` and, past the head the engine
  already matched, run through the YARA rules; a chunk carries the last :data:`OVERLAP` bytes
  of the one before, so a token cut in two by a chunk boundary is still seen whole;
* the lines are *compacted*: a line holding only a comment or blanks is emptied (its newline
  is kept, so line numbers stay those of the file), and what remains is kept up to a byte
  limit. Padding made of comments or blank lines is the cheapest way to push a payload past a
  size limit; once it is gone, the code that really runs usually fits the parser's budget.

Memory is bounded by the chunk size, the overlap and the compaction limit, whatever the size
of the member. The chunks come from :meth:`bastion.archives.Archive.iter_chunks`, which holds
the member-size limit and the archive's time budget.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bastion.archives import Archive, ArchiveError
from bastion.archives.reader import TIME_LIMIT

CHUNK_BYTES = 1024 * 1024
OVERLAP = 4096  # longer than any token or YARA string the rules look for in one piece


@dataclass(frozen=True, slots=True)
class LiteralPattern:
    """A regular expression with literals of which every match holds one.

    ``re`` scans an alternation of words without a common prefix at every byte (about
    20 ns a byte, 0.1 s for each pattern over a 6 MB module); ``bytes.find`` skips through
    the same bytes ten times faster. The pattern runs only where a literal is found: from the
    first one when every match starts with a literal (``prefixes``), else over the bytes.
    """

    pattern: re.Pattern[bytes]
    literals: tuple[bytes, ...]
    prefixes: bool = True

    def search(self, data: bytes) -> re.Match[bytes] | None:
        start = -1
        for literal in self.literals:
            at = data.find(literal)
            if at >= 0 and (start < 0 or at < start):
                start = at
                if not self.prefixes:
                    break
        if start < 0:
            return None
        return self.pattern.search(data, start if self.prefixes else 0)


def literal_pattern(
    pattern: bytes, *literals: bytes, prefixes: bool = True, flags: int = 0
) -> LiteralPattern:
    return LiteralPattern(re.compile(pattern, flags), literals, prefixes)


TOKEN_FACTS: tuple[tuple[str, LiteralPattern], ...] = (
    (
        "net",
        literal_pattern(
            rb"urlopen\(|urlretrieve\(|requests\.(get|post)\(|socket\.socket\(",
            b"urlopen(",
            b"urlretrieve(",
            b"requests.",
            b"socket.socket(",
        ),
    ),
    (
        "proc",
        literal_pattern(
            rb"os\.system\(|subprocess\.\w+\(|os\.popen\(|os\.startfile\(",
            b"os.system(",
            b"subprocess.",
            b"os.popen(",
            b"os.startfile(",
        ),
    ),
    ("exec", literal_pattern(rb"\bexec\s*\(|\beval\s*\(", b"exec", b"eval")),
    (
        "decode",
        literal_pattern(
            rb"b64decode\(|decompress\(|marshal\.loads\(",
            b"b64decode(",
            b"decompress(",
            b"marshal.loads(",
        ),
    ),
    (
        "recon",
        literal_pattern(
            rb"gethostname\(|getuser\(|getlogin\(", b"gethostname(", b"getuser(", b"getlogin("
        ),
    ),
)

# A line that holds nothing but blanks or a comment (in compacting, after line ends are \n).
_COMMENT_OR_BLANK = re.compile(rb"(?m)^[ \t\f\v]*(?:#[^\n]*)?$")
# PEP 263: an encoding declaration in a comment on line 1 or 2 must survive compaction.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


@dataclass
class TokenHit:
    """The first place a token of one kind appears in the member."""

    kind: str
    line: int
    detail: str


@dataclass
class Compactor:
    """Keeps a Python file's lines with comment-only and blank lines emptied, up to ``limit``
    bytes; ``overflowed`` once the code that remains is larger than that.

    Fed raw chunks in order (any line ends: ``\\r\\n``, ``\\r`` and ``\\n``, as Python reads
    them). A line longer than ``limit`` is dropped without being held if it is a comment (with
    ``keep``: a line not kept), and overflows the compaction otherwise, so memory never exceeds
    ``limit`` plus one chunk.
    """

    limit: int
    # Which lines to keep, alone and in order (a .pth file's import lines); by default every
    # line stays in its place, comment-only and blank lines emptied.
    keep: Callable[[bytes], bool] | None = None
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    overflowed: bool = False
    _carry: bytes = b""
    _skipping: bool = False  # inside an over-long comment line, up to its end
    _pending_cr: bool = False
    _lines: int = 0

    def feed(self, chunk: bytes) -> None:
        if self.overflowed or not chunk:
            return
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if chunk.endswith(b"\r"):  # may be the first half of \r\n
            chunk = chunk[:-1]
            self._pending_cr = True
        chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._skipping:
            end = chunk.find(b"\n")
            if end < 0:
                return
            self._skipping = False
            self._lines += 1
            if self.keep is None:  # the emptied line keeps its place
                self._emit(b"\n")
            chunk = chunk[end + 1 :]
        buf = self._carry + chunk
        last = buf.rfind(b"\n")
        if last < 0:
            self._carry = buf
        else:
            self._carry = buf[last + 1 :]
            self._emit_lines(buf[: last + 1])
        if len(self._carry) > self.limit:
            dropped = (
                not self.keep(self._carry)
                if self.keep is not None
                else self._carry.lstrip(b" \t\f\v").startswith(b"#")
            )
            if dropped:  # a line that would be emptied anyway: skip to its end
                self._carry = b""
                self._skipping = True
            else:
                self.overflowed = True

    def close(self) -> bytes | None:
        """The compacted code, or None when it is larger than ``limit``."""
        if self._pending_cr:
            self._pending_cr = False
            self.feed(b"\n")
        if self._carry and not self._skipping:
            self._emit_lines(self._carry)
            self._carry = b""
        if self.overflowed:
            return None
        return b"".join(self.parts)

    def _emit_lines(self, block: bytes) -> None:
        if self.keep is not None:  # only the lines kept, without their places (.pth files)
            self._lines += block.count(b"\n")
            self._emit(b"".join(line + b"\n" for line in block.split(b"\n") if self.keep(line)))
            return
        if self._lines < 2:  # an encoding declaration on line 1 or 2 is kept as it is
            head_end = 0
            for _ in range(2 - self._lines):
                nl = block.find(b"\n", head_end)
                if nl < 0:
                    break
                head_end = nl + 1
            head, block = block[:head_end], block[head_end:]
            self._lines += head.count(b"\n")
            self._emit(
                b"\n".join(
                    line if _CODING.match(line) else _COMMENT_OR_BLANK.sub(b"", line)
                    for line in head.split(b"\n")
                )
            )
        self._lines += block.count(b"\n")
        self._emit(_COMMENT_OR_BLANK.sub(b"", block))

    def _emit(self, data: bytes) -> None:
        if self.overflowed or not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.overflowed = True
            self.parts = []
            return
        self.parts.append(data)


@dataclass
class Streamed:
    """What one pass over a whole member found, and why it stopped short if it did."""

    tokens: list[TokenHit] = field(default_factory=list)
    code: bytes | None = None  # compacted code; None when over the limit or not read whole
    read_bytes: int = 0
    error: str | None = None  # the member could not be read to its end
    out_of_time: bool = False
    too_large: bool = False  # the member is larger than the archive's member-size limit


def stream_chunks(
    chunks: Iterable[bytes],
    *,
    compactor: Compactor | None,
    deadline: float,
    on_chunk: Callable[[int, int, bytes], None] | None = None,
    read_error: Callable[[Exception, int], Streamed] | None = None,
    tokens: bool = True,
) -> Streamed:
    """Go through a member's ``chunks`` in order, each with the overlap of the one before.

    Collects the first hit of each token kind with its line (unless ``tokens`` is false),
    feeds ``compactor`` and calls
    ``on_chunk(offset, first_line, buffer)`` for every buffer (overlap included) so that the
    caller can run byte rules over it. Stops early, saying so, past ``deadline``
    (``time.perf_counter()``), or when ``chunks`` raises an :class:`ArchiveError` or
    :class:`KeyError`: ``read_error(exc, bytes_read)`` then says why in a :class:`Streamed`
    whose tokens are those found so far.
    """
    out = Streamed()
    found: dict[str, TokenHit] = {}
    tail = b""
    newlines_before_tail = 0  # newlines in everything before ``tail``
    offset = 0  # of the next new bytes in the member
    iterator = iter(chunks)
    while True:
        try:
            chunk = next(iterator, None)
        except (ArchiveError, KeyError) as exc:
            out = read_error(exc, offset) if read_error else Streamed(error=str(exc)[:200])
            break
        if chunk is None:
            break
        buffer = tail + chunk
        first_line = newlines_before_tail + 1
        for kind, pattern in TOKEN_FACTS if tokens else ():
            if kind in found:
                continue
            m = pattern.search(buffer)
            if m:
                line = first_line + buffer.count(b"\n", 0, m.start())
                found[kind] = TokenHit(kind, line, m.group().decode("ascii", "replace"))
        if compactor is not None:
            compactor.feed(chunk)
        if on_chunk is not None:
            on_chunk(offset - len(tail), first_line, buffer)
        offset += len(chunk)
        new_tail = buffer[-OVERLAP:]
        newlines_before_tail += buffer.count(b"\n", 0, len(buffer) - len(new_tail))
        tail = new_tail
        if time.perf_counter() > deadline:
            out.out_of_time = True
            break
    out.read_bytes = offset
    out.tokens = sorted(found.values(), key=lambda h: h.line)
    whole = not (out.out_of_time or out.too_large or out.error)
    if compactor is not None and whole:
        out.code = compactor.close()
    return out


def stream_archive_member(
    archive: Archive,
    name: str,
    *,
    compactor: Compactor | None,
    deadline: float,
    on_chunk: Callable[[int, int, bytes], None] | None = None,
    tokens: bool = True,
) -> Streamed:
    """:func:`stream_chunks` over a member of ``archive``, within its member-size limit and
    time budget (either one reached, or a read error, is said in the result)."""

    def read_error(exc: Exception, read: int) -> Streamed:
        if str(exc) == TIME_LIMIT:
            return Streamed(out_of_time=True)
        if read >= archive.limits.max_member_size:
            return Streamed(too_large=True)
        return Streamed(error=str(exc)[:200])

    return stream_chunks(
        archive.iter_chunks(name, CHUNK_BYTES),
        compactor=compactor,
        deadline=deadline,
        on_chunk=on_chunk,
        read_error=read_error,
        tokens=tokens,
    )


def pth_code_line(line: bytes) -> bool:
    """Whether Python runs this line of a .pth file (it starts with ``import``)."""
    return line.startswith((b"import ", b"import\t"))
