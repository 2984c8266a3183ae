#!/usr/bin/env bash
# Installs the toolchain on a fresh machine: pnpm 12 (from the npm registry) and the workspace's
# dependencies, which include the Node 24 binary that every pnpm script runs on. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PNPM_VERSION=12.21.0

command -v node >/dev/null 2>&1 || { echo "bootstrap: node (any version >= 18) and npm are needed to install pnpm" >&2; exit 1; }
if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm --version 2>/dev/null)" != 12.* ]]; then
  echo "bootstrap: installing pnpm ${PNPM_VERSION}"
  npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}" >/dev/null
fi
echo "bootstrap: pnpm $(pnpm --version); installing dependencies"
if [[ "${CI:-}" == "true" ]]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --reporter=append-only
fi
echo "bootstrap: node for scripts: $(pnpm exec node --version)"
