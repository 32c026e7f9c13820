#!/bin/sh
# First start of the postgres container (docker-entrypoint-initdb.d): the platform's roles
# and database, as the superuser. Later starts skip this; change passwords with ALTER ROLE.
#   statusplatform       owns the database and the tables; runs the migrations
#   statusplatform_app   what web, worker and clock connect as: it owns nothing and cannot
#                        bypass row-level security; the migrations grant it DML after each run
# The passwords come from the container's environment (infra/compose.yaml).
set -eu
: "${STATUSPLATFORM_OWNER_PASSWORD:?}"
: "${STATUSPLATFORM_APP_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
    -v owner_password="$STATUSPLATFORM_OWNER_PASSWORD" \
    -v app_password="$STATUSPLATFORM_APP_PASSWORD" <<'SQL'
CREATE ROLE statusplatform LOGIN PASSWORD :'owner_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE statusplatform_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE statusplatform OWNER statusplatform;
REVOKE ALL ON DATABASE statusplatform FROM PUBLIC;
SQL
