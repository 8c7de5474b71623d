#!/usr/bin/env bash
# Installs the official ButterCMS JS SDK (npm buttercms, pinned to 3.0.3 by
# tests/sdk/js/package-lock.json) into tests/sdk/js/node_modules (git-ignored) for the SDK
# and browser tests. Needs node >= 20.18 and npm. Idempotent: does nothing when already
# installed. Exits 1 with the reason when it cannot install: `make test` then fails the
# js-sdk and browser legs (leave them out with GHEE_TEST_LEGS, see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/../tests/sdk/js"
fail() {
	echo "install-js-sdk.sh: $1" >&2
	exit 1
}
command -v node >/dev/null ||
	fail "node is not installed, so the official JS SDK cannot run (Node.js >= 20.18 and npm: apt-get install -y nodejs npm where Debian ships that version)"
command -v npm >/dev/null || fail "node is installed but npm is not (apt-get install -y npm)"
installed=$(node -p 'require("./node_modules/buttercms/package.json").version' 2>/dev/null || true)
if [ "$installed" = "3.0.3" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed in tests/sdk/js (output above)"
