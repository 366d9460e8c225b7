#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, listening on 127.0.0.1 only.
#
#   bash .ci/postgres.sh start DIR [PORT]   # prints the SQLAlchemy URL on stdout
#   bash .ci/postgres.sh stop DIR           # stops the server and removes DIR
#
# DIR is a scratch directory (e.g. from mktemp -d) that holds the data directory, the
# socket and the log. As root the cluster runs as the `postgres` system user (initdb
# refuses root); otherwise as the calling user. The superuser is `discover`, trusted
# without a password from 127.0.0.1: never point this at anything but a test box.
# Durability is switched off (fsync, full-page writes): the cluster lives for one CI run.
set -euo pipefail

usage() { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$(cd "$2" && pwd)
data="$dir/data"

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then bindir=$candidate; break; fi
done
if [ -z "$bindir" ]; then
    command -v initdb >/dev/null 2>&1 || { echo "postgres.sh: initdb not found (apt-get install postgresql)" >&2; exit 1; }
    bindir=$(dirname "$(command -v initdb)")
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

case "$action" in
start)
    port=${3:-$(free_port)}
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "postgres.sh: no postgres user (apt-get install postgresql)" >&2; exit 1; }
        chown postgres: "$dir"
    fi
    as_owner "$bindir/initdb" -D "$data" -U discover --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql+psycopg://discover@127.0.0.1:$port/postgres"
    ;;
stop)
    if [ -f "$data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    usage
    ;;
esac
