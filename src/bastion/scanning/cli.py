"""``bastion scan`` (no server, no database, no Django) and ``bastion survey``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bastion.scanning.config import RULES_DIR_ENV
from bastion.scanning.explain import ARCHIVE_FACT, explained, verdict_reason
from bastion.scanning.explain import explain as explanation
from bastion.scanning.result import ScanResult


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="Scan wheels and sdists for malware (no server or database needed).",
        description=(
            "Read each archive as data (nothing is extracted or executed) and print a verdict "
            "(clean, suspicious, malicious) with the evidence behind it. The exit status is 0 "
            "whenever scanning worked, whatever the verdicts; 2 for usage errors or a path "
            "that cannot be read."
        ),
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="Archives to scan (.whl, .tar.gz, .zip)."
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="Print one JSON object per archive, one per line: path, verdict, score, complete, "
        "gaps, findings, seconds.",
    )
    p.add_argument(
        "--rules-dir",
        type=Path,
        default=None,
        help=f"Folder of extra YARA rules (*.yar, *.yara) to use beside the bundled ones "
        f"(default: ${RULES_DIR_ENV} when set).",
    )
    p.add_argument(
        "--show-info",
        action="store_true",
        help="In the readable summary, also list info-level findings and advisories.",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="For each finding, also say when its code runs, why it counts and what would make "
        "it clean, then how the verdict was reached; with --json, add 'why' and 'clean_if' to "
        "each finding.",
    )
    p.set_defaults(handler=cmd_scan)

    s = subparsers.add_parser(
        "survey",
        help="List which published projects use a module and which of its functions they call.",
        description=(
            "Read the index's published files (needs the database) and report, per project and "
            "release, the functions of MODULE that their code calls."
        ),
    )
    s.add_argument(
        "--imports",
        required=True,
        metavar="MODULE",
        help="Module to look for, e.g. OpenSSL.crypto or pickle.",
    )
    s.add_argument(
        "--json", action="store_true", help="Print one JSON object per file instead of a table."
    )
    s.add_argument(
        "--state", default="published", help="Which files to read, by state (default: published)."
    )
    s.set_defaults(handler=cmd_survey)


def cmd_scan(args: argparse.Namespace) -> int:
    from bastion.config import from_environ
    from bastion.scanning.config import ScanConfig
    from bastion.scanning.engine import scan_file
    from bastion.scanning.yara_rules import RulesError, compiled_rules

    rules_dir: Path | None = args.rules_dir
    if rules_dir is None:
        rules_dir = from_environ(os.environ).scan_rules_dir
    if rules_dir is not None:
        try:
            compiled_rules(rules_dir)
        except RulesError as exc:
            print(f"bastion scan: {exc}", file=sys.stderr)
            return 2
    config = ScanConfig(rules_dir=rules_dir)
    missing = [p for p in args.paths if not os.path.isfile(p)]
    status = 0
    for path in args.paths:
        if path in missing:
            print(f"bastion scan: {path}: no such file", file=sys.stderr)
            status = 2
            continue
        try:
            result = scan_file(path, path, config=config)
        except OSError as exc:
            print(f"bastion scan: {path}: {exc.strerror or exc}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            data = result.to_json()
            if args.explain:
                data["findings"] = [explained(f).to_json() for f in result.findings]
            sys.stdout.write(json.dumps(data) + "\n")
        else:
            _print_summary(result, args.show_info, args.explain)
        sys.stdout.flush()
    return status


def _print_summary(result: ScanResult, show_info: bool, explain: bool = False) -> None:
    data = result.to_json()
    print(
        f"{data['path']}: {data['verdict'].upper()} (score {data['score']:g}, "
        f"{data['seconds']:.2f}s)"
    )
    if not data["complete"]:
        # the verdict was decided without part of the archive: the index would hold the file
        print(f"  INCOMPLETE scan: {len(data['gaps'])} part(s) not examined")
        for gap in data["gaps"][:10]:
            where = f" ({gap['file']})" if gap["file"] else ""
            print(f"    - {gap['kind']}: {gap['message']}{where}")
    shown = 0
    for f in data["findings"]:
        if f["severity"] == "info" and not show_info:
            continue
        where = f["file"] or ""
        if f.get("line"):
            where += f":{f['line']}"
        print(f"  [{f['severity']}] {f['rule']}: {f['message']}")
        if where:
            print(f"      at {where}")
        if f.get("excerpt"):
            print(f"      > {f['excerpt']}")
        if explain:
            info = explanation(f["rule"])
            print(f"      when it runs: {f.get('context') or ARCHIVE_FACT}")
            print(f"      why: {info.why}")
            print(f"      clean if: {info.clean_if}")
        shown += 1
    hidden = len(data["findings"]) - shown
    if hidden:
        print(f"  ({hidden} info-level finding(s) hidden; --show-info lists them)")
    if explain:
        print(
            f"  Verdict: {result.verdict.upper()}. "
            + verdict_reason(result.verdict, result.score, result.findings)
        )
        if not result.complete:
            print(
                "  The scan is incomplete: the index holds the file for review whatever the "
                "verdict."
            )


def cmd_survey(args: argparse.Namespace) -> int:
    from bastion.scanning.survey import run_survey

    return run_survey(args.imports, as_json=args.json, state=args.state)
