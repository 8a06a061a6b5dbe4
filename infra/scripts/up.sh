#!/usr/bin/env bash
# Quick start: installs everything and starts the whole system (token service, analytics API and worker)
# on the local Redis and MariaDB, creating the database and schema on first start. "Everything" is what
# the README's second command (`pnpm test`) needs too: Chromium included, for the SDK's and the console's
# browser tests. `pnpm start` builds the security console (served at /console) when its sources changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash infra/scripts/ensure-local-deps.sh --with-browser
pnpm install --frozen-lockfile
exec pnpm start
