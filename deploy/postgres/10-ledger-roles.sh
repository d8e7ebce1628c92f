#!/usr/bin/env bash
# Creates the ledger's database and roles (docs/operations.md "Two database roles") the
# first time the compose PostgreSQL starts with an empty volume. The postgres image runs
# every script of /docker-entrypoint-initdb.d once, as the superuser.
#
#   ledger_owner   LOGIN, owns the database: `ledger migrate` runs as it
#   ledger_app     NOLOGIN; the migrations grant it read and append only. Created here,
#                  before the migrations, so that the owner needs no CREATEROLE.
#   ledger_server  LOGIN, member of ledger_app: `ledger serve` runs as it
#
# The passwords come from deploy/.env (PG_OWNER_PASSWORD, PG_SERVER_PASSWORD).
set -euo pipefail
: "${PG_OWNER_PASSWORD:?set PG_OWNER_PASSWORD in deploy/.env}"
: "${PG_SERVER_PASSWORD:?set PG_SERVER_PASSWORD in deploy/.env}"

# psql's :'name' quotes a variable as an SQL literal, so a password may hold any
# character. The heredoc is quoted: the shell substitutes nothing in it.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
	-v owner_password="$PG_OWNER_PASSWORD" -v server_password="$PG_SERVER_PASSWORD" <<'SQL'
CREATE ROLE ledger_owner LOGIN PASSWORD :'owner_password';
CREATE DATABASE ledger OWNER ledger_owner;
CREATE ROLE ledger_app NOLOGIN;
CREATE ROLE ledger_server LOGIN PASSWORD :'server_password' IN ROLE ledger_app;
SQL
