#!/usr/bin/env bash
# pg-env.sh prints the environment the ledger needs to reach PostgreSQL, as lines
#   export LEDGER_DATABASE_URL=...        (database "ledger", for `make run`)
#   export LEDGER_TEST_DATABASE_URL=...   (database "postgres"; tests create their own)
# for `eval "$(scripts/pg-env.sh)"`. Messages go to stderr.
#
# 1. If PostgreSQL answers at $LEDGER_PG_HOST:$LEDGER_PG_PORT (default 127.0.0.1:5432),
#    it uses that server as $LEDGER_PG_USER (default postgres).
# 2. Otherwise it runs a project-local cluster from the installed PostgreSQL binaries
#    (PATH, then $LEDGER_PG_BIN_DIRS, default /usr/lib/postgresql/*/bin and
#    /usr/local/pgsql/bin): data in .data/pg, trust authentication,
#    listening on 127.0.0.1:$LEDGER_PG_LOCAL_PORT (default 55432) and a Unix socket in
#    .data/pg-run. It initialises the cluster the first time and starts it if it is
#    down; `scripts/pg-env.sh --stop` stops it.
# 3. If there are no binaries either, it says what to install and exits 1.
#
# Variables already set in the environment win: with both URLs set it changes nothing.
set -euo pipefail

host=${LEDGER_PG_HOST:-127.0.0.1}
port=${LEDGER_PG_PORT:-5432}
user=${LEDGER_PG_USER:-postgres}
local_port=${LEDGER_PG_LOCAL_PORT:-55432}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_dir=$root/.data/pg
run_dir=$root/.data/pg-run
log_file=$run_dir/server.log
app_db=ledger
# Where to look for initdb and pg_ctl when they are not in PATH.
bin_dirs=${LEDGER_PG_BIN_DIRS:-/usr/lib/postgresql/*/bin /usr/local/pgsql/bin}

say() { echo "pg-env: $*" >&2; }

# find_bin prints the path of a PostgreSQL program: from PATH, else from the newest
# /usr/lib/postgresql/<version>/bin, else /usr/local/pgsql/bin.
find_bin() {
	local p
	if p=$(command -v "$1" 2>/dev/null); then
		echo "$p"
		return 0
	fi
	# Unquoted on purpose: the variable holds glob patterns, newest version first.
	# shellcheck disable=SC2086
	for p in $(ls -d $bin_dirs 2>/dev/null | sort -V -r); do
		if [[ -x $p/$1 ]]; then
			echo "$p/$1"
			return 0
		fi
	done
	return 1
}

# as_owner runs a command as the cluster's owner: initdb and postgres refuse to run as
# root, so root runs them as the "postgres" system user.
as_owner() {
	if [[ $(id -u) -ne 0 ]]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u postgres -- "$@"
	else
		su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
	fi
}

# answers reports whether a PostgreSQL server accepts connections at $1:$2.
answers() {
	local isready rc
	if isready=$(find_bin pg_isready); then
		# A busy server can be slow to answer: falling back to a second server then would
		# split the developer's data, so wait a little. Exit 1 means "starting up".
		for _ in 1 2 3; do
			rc=0
			"$isready" -q -h "$1" -p "$2" -t 5 >/dev/null 2>&1 || rc=$?
			case $rc in
			0) return 0 ;;
			1) sleep 1 ;;
			*) return 1 ;;
			esac
		done
		return 1
	else
		# Without pg_isready, an open TCP port is the best available sign.
		timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
	fi
}

# ensure_app_db creates the database for `make run` if it is missing.
ensure_app_db() {
	local psql
	if ! psql=$(find_bin psql); then
		say "psql not found; create database \"$app_db\" yourself if the server needs it"
		return 0
	fi
	local url="postgres://$user@$1:$2/postgres?sslmode=disable"
	if [[ -z $("$psql" "$url" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$app_db'") ]]; then
		"$psql" "$url" -qc "CREATE DATABASE $app_db" >/dev/null
		say "created database $app_db on $1:$2"
	fi
}

print_env() {
	local base="postgres://$user@$1:$2"
	echo "export LEDGER_DATABASE_URL=${LEDGER_DATABASE_URL:-$base/$app_db?sslmode=disable}"
	echo "export LEDGER_TEST_DATABASE_URL=${LEDGER_TEST_DATABASE_URL:-$base/postgres?sslmode=disable}"
}

stop_local() {
	local pg_ctl
	if [[ -f $data_dir/postmaster.pid ]] && pg_ctl=$(find_bin pg_ctl); then
		as_owner "$pg_ctl" -D "$data_dir" -m fast -w stop >&2
	else
		say "no project-local PostgreSQL is running"
	fi
}

start_local() {
	local initdb pg_ctl
	if ! initdb=$(find_bin initdb) || ! pg_ctl=$(find_bin pg_ctl); then
		cat >&2 <<-MSG
		pg-env: no PostgreSQL answers at $host:$port and no PostgreSQL server programs
		pg-env: (initdb, pg_ctl) were found in PATH or /usr/lib/postgresql/*/bin.
		pg-env: Install PostgreSQL (15 or later), then run this again:
		pg-env:   Debian/Ubuntu:  sudo apt-get install postgresql
		pg-env:   Fedora/RHEL:    sudo dnf install postgresql-server
		pg-env:   macOS:          brew install postgresql@16
		pg-env: or point LEDGER_DATABASE_URL and LEDGER_TEST_DATABASE_URL at a server.
		MSG
		exit 1
	fi
	if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		say "running as root, and initdb refuses root: create a \"postgres\" system user or run as another user"
		exit 1
	fi
	mkdir -p "$data_dir" "$run_dir"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$data_dir" "$run_dir"
		chmod 700 "$data_dir"
	fi
	if [[ ! -f $data_dir/PG_VERSION ]]; then
		say "initialising a project-local PostgreSQL cluster in $data_dir"
		as_owner "$initdb" -D "$data_dir" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 >"$run_dir/initdb.log" 2>&1 ||
			{ cat "$run_dir/initdb.log" >&2; exit 1; }
	fi
	if ! answers 127.0.0.1 "$local_port"; then
		say "starting the project-local PostgreSQL on 127.0.0.1:$local_port (log: $log_file)"
		as_owner "$pg_ctl" -D "$data_dir" -l "$log_file" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $local_port -k $run_dir" start >/dev/null ||
			{ tail -n 20 "$log_file" >&2; exit 1; }
	fi
}

if [[ ${1:-} == --stop ]]; then
	stop_local
	exit 0
fi
if [[ -n ${LEDGER_DATABASE_URL:-} && -n ${LEDGER_TEST_DATABASE_URL:-} ]]; then
	print_env "$host" "$port"
	exit 0
fi
if answers "$host" "$port"; then
	ensure_app_db "$host" "$port"
	print_env "$host" "$port"
	exit 0
fi
say "no PostgreSQL answers at $host:$port; using a project-local server"
start_local
ensure_app_db 127.0.0.1 "$local_port"
print_env 127.0.0.1 "$local_port"
