#!/usr/bin/env bash
# Installs Debian's chromium for the real-browser tests (tests/browser/), which drive it
# with Playwright for Python. Never `playwright install`: no browser download is possible,
# the distribution's package is the browser. Idempotent: does nothing when chromium is there.
#
# Exits 1 with the reason when chromium is missing and cannot be installed: `make test` then
# fails its browser leg (leave it out with GHEE_TEST_LEGS, see docs/testing.md).
set -euo pipefail
if command -v chromium >/dev/null; then
	exit 0
fi
fail() {
	echo "install-browser.sh: $1" >&2
	exit 1
}
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
	fail "chromium is missing and cannot be installed here (needs root and apt-get: apt-get install -y chromium)"
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null; then
	apt-get update >/dev/null || true
	apt-get install -y --no-install-recommends chromium >/dev/null ||
		fail "apt-get install -y chromium failed"
fi
command -v chromium >/dev/null || fail "chromium is still missing after apt-get install"
