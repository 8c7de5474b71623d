#!/usr/bin/env bash
# Installs the official ButterCMS JS SDK (npm buttercms, pinned to 3.0.3 by
# tests/sdk/js/package-lock.json) into tests/sdk/js/node_modules (git-ignored) for the SDK
# tests. Needs node >= 20.18 and npm (without node it only warns: those tests skip).
# Idempotent: does nothing when already installed.
set -euo pipefail
cd "$(dirname "$0")/../tests/sdk/js"
if ! command -v node >/dev/null; then
	# Not an error: tests/sdk/test_sdk_js.py then skips, saying node is missing.
	echo "install-js-sdk.sh: WARNING: node is not installed; the JS SDK tests will be skipped" >&2
	exit 0
fi
if ! command -v npm >/dev/null; then
	echo "install-js-sdk.sh: node is installed but npm is not (apt-get install -y npm)" >&2
	exit 1
fi
installed=$(node -p 'require("./node_modules/buttercms/package.json").version' 2>/dev/null || true)
if [ "$installed" = "3.0.3" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
