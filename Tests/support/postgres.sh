#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, on 127.0.0.1.
#
#   Tests/support/postgres.sh install          libpq-dev and the server from apt when missing
#   Tests/support/postgres.sh start [--watch PID]
#                                              a new cluster in /tmp; prints shell assignments:
#                                                POSTGRES_URL=postgres://flow:…@127.0.0.1:PORT/flow
#                                                POSTGRES_DIR=/tmp/flow-postgres.XXXXXX
#                                              with --watch, the server is stopped and its folder
#                                              removed once process PID has exited
#   Tests/support/postgres.sh restart DIR      restarts that server (every connection drops)
#   Tests/support/postgres.sh stop DIR         stops that server and removes DIR
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user (made by
# Debian's package; created as a system user when missing) and initdb/pg_ctl run as that user
# through runuser. Otherwise they run as the calling user. Connections over TCP need the password
# (scram-sha-256, so a test can try a wrong one); the unix socket, in the cluster's folder, is
# trusted. `eval "$(Tests/support/postgres.sh start)"` sets both variables in a shell.
set -euo pipefail

self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
        echo "postgres.sh: '$*' needs root" >&2; return 1
    fi
}

# Runs "$@" holding no descriptor but 0, 1 and 2: the server and the watcher outlive this script
# and must not keep open what its caller handed it (Foundation's Process, for one, knows its child
# has exited when a socket it gave the child closes).
without_inherited_fds() (
    for fd in /proc/$BASHPID/fd/*; do
        n=${fd##*/}
        if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi
    done 2>/dev/null
    "$@"
)

bindir() {
    if [ -n "${FLOW_PG_BIN:-}" ]; then echo "$FLOW_PG_BIN"; return 0; fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

install() {
    local need=()
    [ -e /usr/include/postgresql/libpq-fe.h ] || need+=(libpq-dev)
    bindir >/dev/null || need+=(postgresql)
    [ ${#need[@]} -eq 0 ] && return 0
    echo "postgres.sh: installing ${need[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y --no-install-recommends "${need[@]}" >&2 \
        || { as_root apt-get update >&2 && as_root apt-get install -y --no-install-recommends "${need[@]}" >&2; }
}

# The user the server runs as, and how to run a command as that user.
server_user() {
    if [ "$(id -u)" != 0 ]; then id -un; return; fi
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres >&2
    fi
    echo postgres
}

as_server() {
    if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

start() {
    local watch=""
    if [ "${1:-}" = "--watch" ]; then watch="$2"; fi
    install
    local bin; bin="$(bindir)"
    user="$(server_user)"
    local dir; dir="$(mktemp -d /tmp/flow-postgres.XXXXXX)"
    touch "$dir/.flow-postgres"
    local password; password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" >"$dir/password"
    chmod 600 "$dir/password"
    mkdir -p "$dir/socket"
    [ "$(id -u)" = 0 ] && chown -R "$user" "$dir"
    if ! as_server "$bin/initdb" -D "$dir/data" -U flow --pwfile="$dir/password" -A scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        return 1
    fi
    rm -f "$dir/password"
    local port="" tries=0
    while :; do
        tries=$((tries + 1))
        port=$((20000 + RANDOM % 40000))
        # A port something already listens on is skipped; one taken between this look and the
        # server's bind makes pg_ctl fail, and the next port is tried.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
            && without_inherited_fds as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
                -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=200" \
                start </dev/null >/dev/null 2>&1; then
            break
        fi
        if [ $tries -ge 20 ]; then
            echo "postgres.sh: the server did not start:" >&2
            tail -n 20 "$dir/server.log" >&2 || true
            rm -rf "$dir"
            return 1
        fi
    done
    echo "$port" >"$dir/port"
    as_server "$bin/createdb" -h "$dir/socket" -p "$port" -U flow flow >&2
    if [ -n "$watch" ]; then
        without_inherited_fds setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
            watch "$watch" "$self" "$dir" </dev/null >/dev/null 2>&1 &
    fi
    echo "POSTGRES_URL=postgres://flow:$password@127.0.0.1:$port/flow"
    echo "POSTGRES_DIR=$dir"
}

stop() {
    local dir="${1:?usage: postgres.sh stop DIR}"
    # Only a folder this script made is ever removed.
    [ -e "$dir/.flow-postgres" ] || { echo "postgres.sh: $dir is not a server this script started" >&2; return 1; }
    local bin; bin="$(bindir)"
    user="$(stat -c %U "$dir/data" 2>/dev/null || id -un)"
    if [ -e "$dir/data/postmaster.pid" ]; then
        as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

restart() {
    local dir="${1:?usage: postgres.sh restart DIR}"
    [ -e "$dir/.flow-postgres" ] || { echo "postgres.sh: $dir is not a server this script started" >&2; return 1; }
    local bin; bin="$(bindir)"
    user="$(stat -c %U "$dir/data")"
    without_inherited_fds as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart \
        </dev/null >/dev/null 2>&1
}

case "${1:-}" in
    install) install ;;
    start) shift; start "$@" ;;
    restart) shift; restart "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: postgres.sh install | start [--watch PID] | restart DIR | stop DIR" >&2; exit 64 ;;
esac
