#!/usr/bin/env bash
# Run once by the postgres image on an empty data directory (mounted into /docker-entrypoint-initdb.d).
# One database per feature, each owned by its own role that may connect to nothing else, so a feature's
# credentials cannot read another feature's tables. Passwords come from the container's environment
# (<FEATURE>_DB_PASSWORD, see .env.example); an empty one creates a role without a password, for a local
# database run with POSTGRES_HOST_AUTH_METHOD=trust only.
set -euo pipefail

for feature in auth booking location payment; do
  var="$(echo "$feature" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!var:-}"
  role="carwash_${feature}"
  db="carwash_${feature}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$role" -v db="$db" -v password="$password" <<'SQL'
SELECT CASE WHEN :'password' = '' THEN format('CREATE ROLE %I LOGIN', :'role')
            ELSE format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password') END \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT ALL ON DATABASE %I TO %I', :'db', :'role') \gexec
SQL
  # The exclusion constraints (booking, location) need btree_gist; create it here as the superuser, so the
  # migration's own `CREATE EXTENSION IF NOT EXISTS` finds it whether or not the role may create it.
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" \
    -v role="$role" <<'SQL'
CREATE EXTENSION IF NOT EXISTS btree_gist;
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
SQL
  echo "carwash: database ${db} owned by role ${role}"
done
