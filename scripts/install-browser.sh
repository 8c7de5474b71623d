#!/usr/bin/env bash
# Installs Debian's chromium for the real-browser tests (tests/browser/), which drive it
# with Playwright for Python. Never `playwright install`: no browser download is possible,
# the distribution's package is the browser. Idempotent: does nothing when chromium is there.
#
# Under CI=true a browser that cannot be installed fails this script (and so `make test`);
# elsewhere it warns, and the browser tests skip saying so.
set -euo pipefail
if command -v chromium >/dev/null; then
	exit 0
fi
fail() {
	if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then
		echo "install-browser.sh: $1 (CI=true requires the browser tests)" >&2
		exit 1
	fi
	echo "install-browser.sh: WARNING: $1; the browser tests will be SKIPPED" >&2
	exit 0
}
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
	fail "chromium is missing and cannot be installed here (apt-get as root: apt-get install -y chromium)"
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null; then
	apt-get update >/dev/null || true
	apt-get install -y --no-install-recommends chromium >/dev/null ||
		fail "apt-get install -y chromium failed"
fi
command -v chromium >/dev/null || fail "chromium is still missing after apt-get install"
