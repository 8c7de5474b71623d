#!/usr/bin/env bash
# `make test`: lint, then the whole suite on SQLite, then the same suite on PostgreSQL.
#
# The PostgreSQL leg starts a throw-away server with scripts/postgres.sh (installing it with
# apt-get when missing). GHEE_TEST_POSTGRES chooses what happens when that fails:
#   auto (default)  required when CI=true; elsewhere a loud warning and the leg is skipped
#   1               required: a setup failure fails the run
#   0               skip the leg
# Extra arguments go to both pytest runs (e.g. `bash scripts/test.sh -k idempotency -x`).
# GHEE_TEST_LEG_TIMEOUT (seconds, default 1500) bounds each pytest run so nothing hangs.
# GHEE_TEST_BIN (default .venv/bin) and GHEE_TEST_VAR (default var) exist for the tests of
# this script (tests/test_test_script.py), which run it with stand-in ruff, lint-imports and
# pytest.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN="${GHEE_TEST_BIN:-.venv/bin}"
VAR="${GHEE_TEST_VAR:-var}"
LEG_TIMEOUT="${GHEE_TEST_LEG_TIMEOUT:-1500}"
PG_MODE="${GHEE_TEST_POSTGRES:-auto}"
CI="${CI:-}"
LOG_DIR="$VAR/test-logs"
mkdir -p "$LOG_DIR"
SUMMARY=()
FAILED=0

banner() { printf '\n==== %s ====\n' "$*"; }
note() { SUMMARY+=("$1"); }
loud_warning() {
	printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
	printf '!!! WARNING: %s\n' "$@" >&2
	printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

pg_required() {
	case "$PG_MODE" in
	1 | true | yes) return 0 ;;
	0 | false | no) return 1 ;;
	*) [[ "$CI" == true || "$CI" == 1 ]] ;;
	esac
}

# Serialise whole runs: several `make test` in one checkout would share the test databases.
exec 8>"$VAR/.test.lock"
flock -w 1800 8 || {
	echo "another make test holds $VAR/.test.lock" >&2
	exit 1
}

# --- lint ----------------------------------------------------------------------------------
banner "lint: ruff check + ruff format --check"
if $BIN/ruff check . && $BIN/ruff format --check .; then
	note "lint: ok"
else
	note "lint: FAILED"
	FAILED=1
fi

# The import contracts in pyproject.toml ([tool.importlinter]): apps depend one way only.
banner "import contracts: lint-imports"
if $BIN/lint-imports --no-cache; then
	note "import contracts: ok"
else
	note "import contracts: FAILED"
	FAILED=1
fi

# --- optional setup: the JS SDK (SDK and browser tests), Chromium (browser tests) ----------
if [[ -f scripts/install-js-sdk.sh && "${GHEE_TEST_SDK_SETUP:-1}" != 0 ]]; then
	banner "SDK setup: scripts/install-js-sdk.sh"
	if bash scripts/install-js-sdk.sh; then
		note "js sdk setup: ok"
	else
		note "js sdk setup: FAILED"
		FAILED=1
	fi
fi
if [[ -f scripts/install-browser.sh && "${GHEE_TEST_SDK_SETUP:-1}" != 0 ]]; then
	banner "browser setup: scripts/install-browser.sh"
	if bash scripts/install-browser.sh; then
		note "browser setup: ok"
	else
		note "browser setup: FAILED"
		FAILED=1
	fi
fi

# run_leg NAME [VAR=value...] -- pytest arguments
run_leg() {
	local name="$1" log="$LOG_DIR/$1.log" status line
	shift
	local envs=()
	while [[ "$1" != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	banner "pytest on $name"
	env "${envs[@]}" timeout --kill-after=30 "$LEG_TIMEOUT" $BIN/pytest -q "$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	line="$(grep -E '^=*.*[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
	case "$status" in
	0) note "$name: ok ($line)" ;;
	5)
		note "$name: FAILED: pytest collected no tests"
		FAILED=1
		;;
	124 | 137)
		note "$name: FAILED: timed out after ${LEG_TIMEOUT}s ($line)"
		FAILED=1
		;;
	*)
		note "$name: FAILED, exit $status (${line:-see $log})"
		FAILED=1
		;;
	esac
	echo "== $name leg: ${SUMMARY[-1]#"$name: "}"
}

# --- SQLite ----------------------------------------------------------------------------------
rm -rf "$VAR/test-sqlite"
run_leg sqlite "GHEE_DATA_DIR=$VAR/test-sqlite" DATABASE_URL= -- "$@"

# --- PostgreSQL --------------------------------------------------------------------------------
if [[ "$PG_MODE" =~ ^(0|false|no)$ ]]; then
	loud_warning "GHEE_TEST_POSTGRES=$PG_MODE: the PostgreSQL leg was NOT run"
	note "postgres: SKIPPED (GHEE_TEST_POSTGRES=$PG_MODE)"
else
	banner "PostgreSQL: scripts/postgres.sh start"
	pg_was_running=0
	bash scripts/postgres.sh status 2>/dev/null && pg_was_running=1
	if PG_URL="$(timeout 1200 bash scripts/postgres.sh start)"; then
		rm -rf "$VAR/test-postgres"
		run_leg postgres "GHEE_DATA_DIR=$VAR/test-postgres" "DATABASE_URL=$PG_URL" -- "$@"
		# Leave a server someone else started running; stop the one we started.
		[[ $pg_was_running == 1 ]] || bash scripts/postgres.sh stop || true
	elif pg_required; then
		note "postgres: FAILED: could not set up PostgreSQL (required: CI=$CI GHEE_TEST_POSTGRES=$PG_MODE)"
		FAILED=1
	else
		loud_warning "PostgreSQL could not be installed or started; the PostgreSQL leg was SKIPPED." \
			"CI runs it and fails on this. Set GHEE_TEST_POSTGRES=1 to make it fatal here."
		note "postgres: SKIPPED (setup failed; see messages above)"
	fi
fi

banner "make test summary"
printf '  %s\n' "${SUMMARY[@]}"
if [[ $FAILED -ne 0 ]]; then
	echo "make test: FAILED"
	exit 1
fi
echo "make test: all legs passed"
