#!/usr/bin/env bash
# `pnpm demo`: everything up (infrastructure, migrations, seed, the three services, Prometheus),
# then the demo run (scripts/demo.ts). `pnpm demo:down` stops all of it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rota}"
bash infra/scripts/infra-up.sh
pnpm run -s migrate
seeded=$(psql "$DATABASE_URL" -XtAq -c "SELECT count(*) FROM employees" 2>/dev/null || echo 0)
if [[ "${seeded:-0}" == 0 ]]; then
  pnpm run -s seed --employees "${DEMO_EMPLOYEES:-2000}"
else
  echo "demo: database already seeded (${seeded} employees); reusing it"
fi
bash scripts/services.sh start
pnpm exec node scripts/demo.ts
