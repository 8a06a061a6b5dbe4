#!/usr/bin/env bash
# Quick start: installs everything and starts the whole system (token service, analytics API and worker)
# on the local Redis and MariaDB, creating the database and schema on first start.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash infra/scripts/ensure-local-deps.sh
pnpm install --frozen-lockfile
exec pnpm start
