#!/usr/bin/env bash
# `make test`: lint, then the suite on SQLite. (PostgreSQL leg: see scripts/postgres.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/ruff check .
$BIN/pytest -q "$@"
