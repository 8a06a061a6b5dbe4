#!/usr/bin/env bash
# Makes sure this machine has what the project needs: pnpm, and Redis and MariaDB answering on loopback.
# Starts them if they are installed but down; installs them from Debian's packages if missing.
set -euo pipefail

log() { printf '[deps] %s\n' "$*"; }

if ! command -v pnpm >/dev/null 2>&1; then
  log "installing pnpm"
  npm install -g pnpm@10.34.9 >/dev/null
fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v redis-server >/dev/null 2>&1 || { log "installing redis"; apt_install redis-server redis-tools; }
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || { log "installing mariadb"; apt_install mariadb-server mariadb-client; }

# CI also runs the SDK's browser test in Debian's Chromium (driven by playwright-core).
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  log "installing chromium"
  apt_install chromium
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

mariadb_up() { mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; }
if ! mariadb_up; then
  log "starting mariadb"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi

for _ in $(seq 1 60); do
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && mariadb_up; then
    log "redis and mariadb are up"
    exit 0
  fi
  sleep 0.5
done
log "redis or mariadb did not come up in 30 s"
exit 1
