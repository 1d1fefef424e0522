"""YARA rules: the bundled ones plus an operator's folder, compiled once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yara

BUNDLED_DIR = Path(__file__).resolve().parent / "yara"
RULE_SUFFIXES = (".yar", ".yara")

_lock = threading.Lock()
_cache: dict[tuple[str, ...], Any] = {}


@dataclass(frozen=True, slots=True)
class YaraHit:
    rule: str
    namespace: str
    meta: dict[str, Any]
    instances: tuple[tuple[int, bytes], ...]  # (offset, matched bytes), first ones only

    @property
    def offset(self) -> int:
        return self.instances[0][0] if self.instances else 0


class RulesError(Exception):
    """An operator's rule file does not compile; the message names the file."""


def _rule_files(rules_dir: Path | None) -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(BUNDLED_DIR.glob("*.yar")):
        files[f"bastion_{path.stem}"] = str(path)
    if rules_dir is not None:
        if not rules_dir.is_dir():
            raise RulesError(f"YARA rules folder {rules_dir} does not exist")
        for path in sorted(rules_dir.iterdir()):
            if path.suffix in RULE_SUFFIXES and path.is_file():
                files[f"operator_{path.stem}"] = str(path)
    return files


def _signature(files: dict[str, str]) -> tuple[str, ...]:
    parts = []
    for ns, path in files.items():
        try:
            st = Path(path).stat()
            parts.append(f"{ns}:{path}:{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append(f"{ns}:{path}:missing")
    return tuple(parts)


def compiled_rules(rules_dir: Path | None = None) -> Any:
    """Return compiled rules for the bundled set plus ``rules_dir``; cached per process."""
    files = _rule_files(rules_dir)
    key = _signature(files)
    with _lock:
        rules = _cache.get(key)
        if rules is None:
            try:
                rules = yara.compile(filepaths=files)
            except yara.SyntaxError as exc:
                raise RulesError(f"YARA rules do not compile: {exc}") from exc
            _cache.clear()
            _cache[key] = rules
    return rules


def match(rules: Any, data: bytes, timeout: int = 5) -> list[YaraHit]:
    """Run ``rules`` on ``data``: one hit per rule, at its first matching offset."""
    if not data:
        return []
    try:
        matches = rules.match(data=data, timeout=timeout)
    except yara.TimeoutError:
        return [YaraHit("yara-timeout", "bastion", {}, ())]
    except yara.Error:
        return []
    hits: list[YaraHit] = []
    for m in matches:
        found: list[tuple[int, bytes]] = []
        for s in m.strings:
            for inst in s.instances[:20]:
                found.append((inst.offset, bytes(inst.matched_data[:200])))
        found.sort()
        hits.append(YaraHit(m.rule, m.namespace, dict(m.meta), tuple(found[:40])))
    return hits
