#!/usr/bin/env bash
# `pnpm demo:down`: stops the services and the infrastructure the demo started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh stop
bash infra/scripts/infra-down.sh
