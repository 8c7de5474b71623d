#!/usr/bin/env bash
# Installs the official ButterCMS JS SDK (npm buttercms, pinned to 3.0.3 by
# tests/sdk/js/package-lock.json) into tests/sdk/js/node_modules (git-ignored) for the SDK
# tests. Needs node >= 20.18 and npm. Idempotent: does nothing when already installed.
set -euo pipefail
cd "$(dirname "$0")/../tests/sdk/js"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "install-js-sdk.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
	exit 1
fi
installed=$(node -p 'require("./node_modules/buttercms/package.json").version' 2>/dev/null || true)
if [ "$installed" = "3.0.3" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
