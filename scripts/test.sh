#!/usr/bin/env bash
# The whole test suite: lint, then every test on SQLite, then every test on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
# The tests talk only to servers they start; keep the machine's pip/uv configuration out.
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS UV_INDEX_URL UV_EXTRA_INDEX_URL || true
# `make test` installed Debian's chromium: a browser test must run here, never skip.
export BASTION_REQUIRE_BROWSER=1
echo "== ruff"
ruff check src tests
ruff format --check src tests
echo "== pytest on SQLite"
python -m pytest -n 2 "$@"
echo "== pytest on PostgreSQL"
scripts/with-postgres.sh python -m pytest -n 2 "$@"
