"""Receiving an upload: the multipart form read once, the file hashed as it arrives.

twine and ``uv publish`` send some forty small form fields and the distribution in one
``multipart/form-data`` body. Django's parser costs more per field than the rest of a small
upload's reading, and its file handlers spool a large file to a temporary file that the
pipeline would then read again for its digests and copy again into storage. Here the body is
parsed with ``multipart``'s push parser (the parser of bottle, and so of pypiserver), the three
digests PyPI records are computed while the file's bytes arrive, and a large file is written
once, into the storage's receiving folder, from which :meth:`Storage.adopt` renames it into
place. Each byte of a distribution is read from the socket once and written to disk once.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import multipart
from django.conf import settings

from bastion.storage import Digester, get_storage

#: Read from the socket and hashed in pieces of this size: few enough Python steps per
#: megabyte, and small enough that the three hashes read each piece from the CPU cache.
CHUNK = 256 * 1024


class FormError(ValueError):
    """The body is not a form bastion can read; the message is for the client."""


@dataclass
class ReceivedFile:
    """A file part: in memory or in a receiving-folder file, with its size and digests."""

    file: BinaryIO
    #: The name as the client sent it (the pipeline refuses path separators, as PyPI does).
    name: str
    content_type: str
    size: int
    digests: dict[str, str]
    #: The receiving-folder file, for storage to adopt; None when the file is in memory.
    path: Path | None

    def close(self) -> None:
        """Close, and remove the receiving-folder file unless storage adopted it."""
        try:
            self.file.close()
        finally:
            if self.path is not None:
                self.path.unlink(missing_ok=True)


class _FileSink:
    """One file part: hashed, kept in memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then
    spilled to the storage's receiving folder."""

    def __init__(self, name: str, content_type: str) -> None:
        self.name = name
        self.content_type = content_type
        self._digester = Digester()
        self._memory: io.BytesIO | None = io.BytesIO()
        self._spill: BinaryIO | None = None
        self._path: Path | None = None
        self._limit = int(settings.FILE_UPLOAD_MAX_MEMORY_SIZE)

    def write(self, data: bytes) -> None:
        self._digester.update(data)
        if self._memory is not None:
            if self._digester.size <= self._limit:
                self._memory.write(data)
                return
            self._spill = self._open_spill()
            self._spill.write(self._memory.getbuffer())
            self._memory = None
        assert self._spill is not None
        self._spill.write(data)

    def _open_spill(self) -> BinaryIO:
        folder = get_storage().receiving_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".upload")
        self._path = Path(name)
        return os.fdopen(fd, "w+b")

    def finish(self) -> ReceivedFile:
        fh: BinaryIO = self._spill if self._spill is not None else self._memory  # type: ignore[assignment]
        fh.flush()
        fh.seek(0)
        return ReceivedFile(
            fh,
            self.name,
            self.content_type,
            self._digester.size,
            self._digester.hexdigests(),
            self._path,
        )

    def discard(self) -> None:
        if self._spill is not None:
            self._spill.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)


@dataclass
class ReceivedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    #: File parts in the order received, by field name.
    files: list[tuple[str, ReceivedFile]] = field(default_factory=list)

    def close(self) -> None:
        for _name, received in self.files:
            received.close()


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def read_form(read: Callable[[int], bytes], content_type: str, content_length: int) -> ReceivedForm:
    """Read a ``multipart/form-data`` body from ``read`` (the request's stream).

    Text fields must be UTF-8; together they may not exceed ``DATA_UPLOAD_MAX_MEMORY_SIZE``
    nor number more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, Django's own limits. File names are
    kept as sent (the pipeline refuses path separators, as PyPI does, rather than strip them).
    """
    _main, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if not boundary:
        raise FormError("Invalid multipart body: the Content-Type has no boundary.")
    max_fields = int(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
    max_text = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    form = ReceivedForm()
    text_size = 0
    segment: multipart.MultipartSegment | None = None
    sink: _FileSink | None = None
    text: list[bytes] = []
    try:
        parser = multipart.PushMultipartParser(
            boundary,
            content_length=content_length,
            max_header_count=16,
            max_segment_count=max_fields + 2,
        )
        with parser:
            while not parser.closed:
                chunk = read(CHUNK)
                for event in parser.parse(chunk):
                    if isinstance(event, multipart.MultipartSegment):
                        segment, text = event, []
                        if event.disposition != "form-data" or not event.name:
                            raise FormError(
                                "Invalid multipart body: a part has no form field name."
                            )
                        if event.filename is not None:
                            sink = _FileSink(event.filename, event.content_type or "")
                    elif event:
                        if sink is not None:
                            sink.write(event)
                        else:
                            text_size += len(event)
                            if text_size > max_text:
                                raise FormError(
                                    "Request body too large: the form fields exceed the limit."
                                )
                            text.append(event)
                    else:
                        assert segment is not None and segment.name is not None
                        if sink is not None:
                            form.files.append((segment.name, sink.finish()))
                            sink = None
                        else:
                            try:
                                value = b"".join(text).decode("utf-8")
                            except UnicodeDecodeError as exc:
                                raise FormError(
                                    f"Invalid multipart body: field '{segment.name}' is not UTF-8."
                                ) from exc
                            form.fields.setdefault(segment.name, []).append(value)
                if not chunk:
                    break
    except multipart.ParserLimitReached as exc:
        _abandon(form, sink)
        raise FormError(f"Request body too large: {exc}") from exc
    except multipart.MultipartError as exc:
        _abandon(form, sink)
        raise FormError(f"Invalid multipart body: {exc}") from exc
    except BaseException:
        _abandon(form, sink)
        raise
    if sum(len(v) for v in form.fields.values()) > max_fields:
        form.close()
        raise FormError("Request body too large: too many form fields.")
    return form


def _abandon(form: ReceivedForm, sink: _FileSink | None) -> None:
    if sink is not None:
        sink.discard()
    form.close()
