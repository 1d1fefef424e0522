#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: initdb in a temporary folder as an
# unprivileged user, listen on loopback on a private port, export BASTION_DATABASE_URL,
# run the command, then stop the cluster and delete it whatever the command's outcome.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PORT=${BASTION_PG_PORT:-54329}
DIR=$(mktemp -d /tmp/bastion-pg.XXXXXX)
RUN=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$DIR"
  RUN=(runuser -u postgres --)
fi
"${RUN[@]}" "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 >/dev/null
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
cleanup() {
  "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres bastion
export BASTION_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/bastion"
"$@"
