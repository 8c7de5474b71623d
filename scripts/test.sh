#!/usr/bin/env bash
# `make test`: lint, the JS SDK and browser setups, then the whole suite on SQLite and on
# PostgreSQL. Every leg that was asked for runs or fails the run: nothing is skipped quietly.
#
# Legs, in order (GHEE_TEST_LEGS lists the ones to run, comma- or space-separated; default all):
#   lint      ruff check, ruff format --check, lint-imports
#   js-sdk    scripts/install-js-sdk.sh, then the official JS SDK's tests in each database leg
#   browser   scripts/install-browser.sh (+ the JS SDK, which a browser test loads), then the
#             real-browser tests (tests/browser/) in each database leg
#   sqlite    pytest on SQLite
#   postgres  scripts/postgres.sh start (installs PostgreSQL with apt-get), pytest on it
# A leg left out of GHEE_TEST_LEGS is not run and the summary says so; its tests are left out
# of the database legs (--ignore). A leg that was asked for but cannot run (PostgreSQL or
# Chromium cannot be installed, node is missing) is a failure with its reason. Under CI=true
# every leg runs: a GHEE_TEST_LEGS that leaves one out is refused.
# Extra arguments go to both pytest runs (e.g. `bash scripts/test.sh -k idempotency -x`).
# GHEE_TEST_LEG_TIMEOUT (seconds, default 1500) bounds each pytest run so nothing hangs.
# GHEE_TEST_BIN (default .venv/bin), GHEE_TEST_SCRIPTS (default scripts: install-js-sdk.sh,
# install-browser.sh, postgres.sh) and GHEE_TEST_VAR (default var) exist for the tests of this
# script (tests/test_test_script.py), which run it with stand-in tools and setup scripts.
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_LEGS=(lint js-sdk browser sqlite postgres)
BIN="${GHEE_TEST_BIN:-.venv/bin}"
SCRIPTS="${GHEE_TEST_SCRIPTS:-scripts}"
VAR="${GHEE_TEST_VAR:-var}"
LEG_TIMEOUT="${GHEE_TEST_LEG_TIMEOUT:-1500}"
CI="${CI:-}"
LOG_DIR="$VAR/test-logs"
SUMMARY=()
PASSED=()
FAILED_LEGS=()
CANNOT_RUN=()
NOT_ASKED=()

refuse() {
	echo "scripts/test.sh: $*" >&2
	exit 2
}

in_ci() { [[ "$CI" == true || "$CI" == 1 ]]; }

# The variables this interface replaced: refuse them rather than ignore them.
for old in GHEE_TEST_POSTGRES GHEE_TEST_SDK_SETUP; do
	[[ -z "${!old+set}" ]] ||
		refuse "$old is no longer read; choose the legs with GHEE_TEST_LEGS (e.g. GHEE_TEST_LEGS=lint,sqlite; all: ${ALL_LEGS[*]})"
done

IFS=$', \t' read -r -a words <<<"${GHEE_TEST_LEGS:-${ALL_LEGS[*]}}"
ASKED=()
for word in "${words[@]}"; do
	[[ -z "$word" ]] || ASKED+=("$word")
done
[[ ${#ASKED[@]} -gt 0 ]] || refuse "GHEE_TEST_LEGS is empty (legs: ${ALL_LEGS[*]})"
for leg in "${ASKED[@]}"; do
	[[ " ${ALL_LEGS[*]} " == *" $leg "* ]] || refuse "GHEE_TEST_LEGS: no leg '$leg' (legs: ${ALL_LEGS[*]})"
done
asked() { [[ " ${ASKED[*]} " == *" $1 "* ]]; }
for leg in "${ALL_LEGS[@]}"; do
	asked "$leg" || NOT_ASKED+=("$leg")
done
if in_ci && [[ ${#NOT_ASKED[@]} -gt 0 ]]; then
	refuse "CI=true runs every leg, but GHEE_TEST_LEGS=${GHEE_TEST_LEGS} leaves out: ${NOT_ASKED[*]}"
fi

mkdir -p "$LOG_DIR"
banner() { printf '\n==== %s ====\n' "$*"; }
note() { SUMMARY+=("$1"); }
passed() {
	note "$1: ${2:-ok}"
	PASSED+=("$1")
}
failed() {
	note "$1: FAILED: $2"
	FAILED_LEGS+=("$1")
}
# A leg asked for that could not run at all (its setup failed): a failure too.
cannot_run() {
	failed "$1" "$2"
	CANNOT_RUN+=("$1")
}
join() {
	local IFS=, text
	text="$*"
	text="${text//,/, }"
	echo "${text:-none}"
}

# Serialise whole runs: several `make test` in one checkout would share the test databases.
exec 8>"$VAR/.test.lock"
flock -w 1800 8 || {
	echo "another make test holds $VAR/.test.lock" >&2
	exit 1
}

# --- lint ----------------------------------------------------------------------------------
if asked lint; then
	problems=()
	banner "lint: ruff check + ruff format --check"
	$BIN/ruff check . && $BIN/ruff format --check . || problems+=("ruff")
	# The import contracts in pyproject.toml ([tool.importlinter]): apps depend one way only.
	banner "import contracts: lint-imports"
	$BIN/lint-imports --no-cache || problems+=("import contracts (lint-imports)")
	if [[ ${#problems[@]} -eq 0 ]]; then
		passed lint "ok (ruff, import contracts)"
	else
		failed lint "$(join "${problems[@]}") (see above)"
	fi
fi

# --- setups: the JS SDK (SDK and browser tests), Chromium (browser tests) ------------------
# Each prints its reason on stderr when it fails; the summary repeats the leg's name.
if asked js-sdk || asked browser; then
	banner "JS SDK setup: scripts/install-js-sdk.sh"
	if bash $SCRIPTS/install-js-sdk.sh; then
		sdk_ready=1
	else
		sdk_ready=0
	fi
	if asked js-sdk; then
		if [[ $sdk_ready == 1 ]]; then
			passed js-sdk "ok (installed; its tests run in each database leg)"
		else
			cannot_run js-sdk "scripts/install-js-sdk.sh failed (reason above)"
		fi
	fi
fi
if asked browser; then
	banner "browser setup: scripts/install-browser.sh"
	if ! bash $SCRIPTS/install-browser.sh; then
		cannot_run browser "scripts/install-browser.sh failed (reason above)"
	elif [[ $sdk_ready == 0 ]]; then
		cannot_run browser "the JS SDK a browser test loads is not installed (scripts/install-js-sdk.sh, above)"
	else
		passed browser "ok (Chromium ready; its tests run in each database leg)"
	fi
fi

# The tests of a leg left out are left out of the database legs too.
IGNORE=()
asked browser || IGNORE+=(--ignore=tests/browser)
asked js-sdk || IGNORE+=(--ignore=tests/sdk/test_sdk_js.py)

# run_leg NAME [-u VAR ...] [VAR=value ...] -- pytest arguments (env(1)'s arguments, options first)
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
	env "${envs[@]}" timeout --kill-after=30 "$LEG_TIMEOUT" $BIN/pytest -q "${IGNORE[@]}" "$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	line="$(grep -E '^=*.*[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
	case "$status" in
	0) passed "$name" "ok ($line)" ;;
	5) failed "$name" "pytest collected no tests" ;;
	124 | 137) failed "$name" "timed out after ${LEG_TIMEOUT}s ($line)" ;;
	*) failed "$name" "exit $status (${line:-see $log})" ;;
	esac
	echo "== $name leg: ${SUMMARY[-1]#"$name: "}"
}

# --- SQLite ----------------------------------------------------------------------------------
if asked sqlite; then
	rm -rf "$VAR/test-sqlite"
	# -u: unset, not empty (an empty DATABASE_URL stops ghee, like any empty variable).
	run_leg sqlite -u DATABASE_URL "GHEE_DATA_DIR=$VAR/test-sqlite" -- "$@"
fi

# --- PostgreSQL --------------------------------------------------------------------------------
if asked postgres; then
	banner "PostgreSQL: scripts/postgres.sh start"
	pg_was_running=0
	bash $SCRIPTS/postgres.sh status 2>/dev/null && pg_was_running=1
	if PG_URL="$(timeout 1200 bash $SCRIPTS/postgres.sh start)"; then
		rm -rf "$VAR/test-postgres"
		run_leg postgres "GHEE_DATA_DIR=$VAR/test-postgres" "DATABASE_URL=$PG_URL" -- "$@"
		# Leave a server someone else started running; stop the one we started.
		[[ $pg_was_running == 1 ]] || bash $SCRIPTS/postgres.sh stop || true
	else
		cannot_run postgres "PostgreSQL could not be set up by scripts/postgres.sh (reason above)"
	fi
fi

banner "make test summary"
for leg in "${NOT_ASKED[@]}"; do
	note "$leg: not run (left out by GHEE_TEST_LEGS=${GHEE_TEST_LEGS:-})"
done
printf '  %s\n' "${SUMMARY[@]}"
if [[ ${#FAILED_LEGS[@]} -gt 0 ]]; then
	if ! in_ci; then
		for leg in "${CANNOT_RUN[@]}"; do
			rest=()
			for other in "${ASKED[@]}"; do [[ $other == "$leg" ]] || rest+=("$other"); done
			(
				IFS=,
				echo "  (to leave $leg out on purpose: GHEE_TEST_LEGS=${rest[*]} make test)"
			)
		done
	fi
	echo "make test: FAILED (failed: $(join "${FAILED_LEGS[@]}"); passed: $(join "${PASSED[@]}"))"
	exit 1
fi
if [[ ${#NOT_ASKED[@]} -gt 0 ]]; then
	echo "make test: passed (legs: $(join "${PASSED[@]}"); not run, as GHEE_TEST_LEGS asked: $(join "${NOT_ASKED[@]}"))"
else
	echo "make test: passed (legs: $(join "${PASSED[@]}"))"
fi
