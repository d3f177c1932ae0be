#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the internal/directory tests and prints the line
#   export WOTGEN_TEST_POSTGRES=postgres://…
# on stdout (everything else goes to stderr), so .ci/run can do: eval "$(.ci/directory.sh)".
# Idempotent: installs PostgreSQL only when missing, initialises the cluster once, starts it only
# when it is not running, creates the database only when absent. Safe to run twice.
set -euo pipefail

PGPORT="${WOTGEN_PG_PORT:-55432}"
PGDIR="${WOTGEN_PG_DIR:-${TMPDIR:-/tmp}/wotgen-directory-pg}"
DB=wotgen_test

log() { echo "directory.sh: $*" >&2; }

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [ -z "$(bindir)" ]; then
	log "installing postgresql with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
fi
BIN="$(bindir)"
[ -x "$BIN/postgres" ] || { log "no PostgreSQL server binary under /usr/lib/postgresql/*/bin"; exit 1; }

# The server refuses to run as root: run it as the postgres user when we are root.
if [ "$(id -u)" = 0 ]; then
	RUNAS=postgres
	as() { su -s /bin/sh "$RUNAS" -c "$*"; }
else
	RUNAS="$(id -un)"
	as() { sh -c "$*"; }
fi

mkdir -p "$PGDIR"
chown "$RUNAS" "$PGDIR" 2>/dev/null || true
chmod 700 "$PGDIR"
if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
	log "initialising a cluster in $PGDIR/data"
	as "'$BIN/initdb' -D '$PGDIR/data' -U postgres --auth=trust --encoding=UTF8 --locale=C" >&2
fi
if ! as "'$BIN/pg_ctl' -D '$PGDIR/data' status" >/dev/null 2>&1; then
	log "starting PostgreSQL on 127.0.0.1:$PGPORT"
	as "'$BIN/pg_ctl' -D '$PGDIR/data' -l '$PGDIR/server.log' -w -t 60 start -o \"-p $PGPORT -k '$PGDIR' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\"" >&2
fi
if ! as "'$BIN/psql' -h 127.0.0.1 -p $PGPORT -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='$DB'\"" | grep -q 1; then
	as "'$BIN/createdb' -h 127.0.0.1 -p $PGPORT -U postgres $DB" >&2
fi
echo "export WOTGEN_TEST_POSTGRES='postgres://postgres@127.0.0.1:$PGPORT/$DB?sslmode=disable'"
