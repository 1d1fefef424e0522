"""``bastion scan`` (no server, no database, no Django) and ``bastion survey``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastion.scanning.config import RULES_DIR_ENV
from bastion.scanning.explain import ARCHIVE_FACT, explained, verdict_reason
from bastion.scanning.explain import explain as explanation
from bastion.scanning.result import ScanResult

if TYPE_CHECKING:
    from bastion.scanning.diff import DependencyFacts


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
        "--previous",
        metavar="OLD",
        default=None,
        help="The project's previous release (same kind: wheel or sdist): each PATH is also "
        "compared with it, and what it newly does (install hooks, .pth files, import-time "
        "network or processes, obfuscated data, new dependencies on look-alike names) is listed "
        "as evidence and counts in the verdict.",
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
    from bastion.scanning.diff import scan_with_previous
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
    previous: str | None = args.previous
    if previous is not None and not os.path.isfile(previous):
        print(f"bastion scan: {previous}: no such file", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not os.path.isfile(p)]
    status = 0
    for path in args.paths:
        if path in missing:
            print(f"bastion scan: {path}: no such file", file=sys.stderr)
            status = 2
            continue
        try:
            if previous is None:
                result = scan_file(path, path, config=config)
                diff = None
            else:
                diffed = scan_with_previous(
                    path,
                    path,
                    previous,
                    previous,
                    config=config,
                    dependency_info=offline_dependency_info,
                )
                result, diff = diffed.result, diffed
        except OSError as exc:
            print(f"bastion scan: {path}: {exc.strerror or exc}", file=sys.stderr)
            status = 2
            continue
        data = result.to_json()
        if diff is not None:
            data["previous"] = {
                "path": previous,
                "findings": [f.to_json() for f in diff.diff],
                "seconds": round(diff.previous_seconds + diff.diff_seconds, 4),
            }
        if args.json:
            if args.explain:
                data["findings"] = [explained(f).to_json() for f in result.findings]
            sys.stdout.write(json.dumps(data) + "\n")
        else:
            _print_summary(result, data, args.show_info, args.explain)
        sys.stdout.flush()
    return status


def offline_dependency_info(name: str) -> DependencyFacts:
    """What ``bastion scan`` knows about a dependency without the index's database: whether
    its name is a popular project's or imitates one (the shipped protected names). Whether
    the index has it, and since when, is unknown here."""
    from bastion.names.policy import LOOKALIKE, PROTECTED, default_policy
    from bastion.scanning.diff import DependencyFacts

    verdict = default_policy().check(name)
    return DependencyFacts(
        known=None,
        popular=verdict.code == PROTECTED,
        lookalike_of=verdict.target if verdict.code == LOOKALIKE else None,
    )


def _print_summary(
    result: ScanResult, data: dict[str, Any], show_info: bool, explain: bool = False
) -> None:
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
    before = data.get("previous")
    if before is not None:
        shown_diff = [f for f in before["findings"] if show_info or f["severity"] != "info"]
        print(
            f"  Compared with {before['path']} ({before['seconds']:.2f}s): "
            + (f"{len(shown_diff)} new behaviour(s), listed above" if shown_diff else "nothing new")
        )
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
