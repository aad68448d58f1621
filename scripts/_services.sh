# Sourced by scripts/test: a private PostgreSQL and Redis for one run of the suite, unless
# DATABASE_URL and REDIS_URL already point at running ones. Each is started on a spare
# loopback port with its files in a temporary folder, and stopped and removed when the run
# ends (stop_services). Debian's packages are used; as root they are installed if missing.

SERVICES_TMP=""
SERVICES_PG_DATA=""
SERVICES_PG_BIN=""
SERVICES_REDIS_PID=""
SERVICES_RUN_AS=()

free_port() {
  .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_packages() {  # package...
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "The tests need $*: sudo apt-get install $*" >&2
    exit 1
  fi
}

services_tmp() {
  if [ -z "$SERVICES_TMP" ]; then
    SERVICES_TMP=$(mktemp -d /tmp/policyportal-test-services.XXXXXX)
    chmod 0755 "$SERVICES_TMP"
  fi
}

ensure_postgres() {
  [ -n "${DATABASE_URL:-}" ] && return 0
  SERVICES_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$SERVICES_PG_BIN" ]; then
    install_packages postgresql
    SERVICES_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  services_tmp
  SERVICES_PG_DATA="$SERVICES_TMP/postgres"
  mkdir -p "$SERVICES_PG_DATA"
  if [ "$(id -u)" = 0 ]; then  # PostgreSQL will not run as root: as Debian's postgres user
    chown postgres: "$SERVICES_PG_DATA"
    SERVICES_RUN_AS=(runuser -u postgres --)
  fi
  local port
  port=$(free_port)
  "${SERVICES_RUN_AS[@]}" "$SERVICES_PG_BIN/initdb" -D "$SERVICES_PG_DATA/data" -U postgres --auth=trust \
    -E UTF8 --locale=C.UTF-8 >"$SERVICES_TMP/initdb.log" 2>&1 || { cat "$SERVICES_TMP/initdb.log" >&2; exit 1; }
  # fsync off: a throwaway database for one run, so nothing is worth waiting for the disk.
  "${SERVICES_RUN_AS[@]}" "$SERVICES_PG_BIN/pg_ctl" -D "$SERVICES_PG_DATA/data" -l "$SERVICES_PG_DATA/log" -w \
    -o "-p $port -k $SERVICES_PG_DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null || { cat "$SERVICES_PG_DATA/log" >&2; exit 1; }
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/policyportal"
  echo "Tests: a private PostgreSQL on port $port"
}

ensure_redis() {
  [ -n "${REDIS_URL:-}" ] && return 0
  command -v redis-server >/dev/null 2>&1 || install_packages redis-server
  services_tmp
  local port
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
    --dir "$SERVICES_TMP" --pidfile "$SERVICES_TMP/redis.pid" --logfile "$SERVICES_TMP/redis.log"
  for _ in $(seq 1 50); do
    [ -s "$SERVICES_TMP/redis.pid" ] && break
    sleep 0.1
  done
  SERVICES_REDIS_PID=$(cat "$SERVICES_TMP/redis.pid")
  export REDIS_URL="redis://127.0.0.1:$port/0"
  echo "Tests: a private Redis on port $port"
}

stop_services() {
  if [ -n "$SERVICES_PG_DATA" ]; then
    "${SERVICES_RUN_AS[@]}" "$SERVICES_PG_BIN/pg_ctl" -D "$SERVICES_PG_DATA/data" -m immediate -w stop \
      >/dev/null 2>&1 || true
  fi
  if [ -n "$SERVICES_REDIS_PID" ]; then
    kill "$SERVICES_REDIS_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVICES_TMP" ]; then
    rm -rf "$SERVICES_TMP"
  fi
}
