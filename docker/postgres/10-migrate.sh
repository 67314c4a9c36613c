#!/bin/sh
# Applies supabase/migrations in name order on first start, and records them the way the
# services' own migrator does, so a service pointed at this database finds nothing left to do.
set -eu
psql -v ON_ERROR_STOP=1 -U postgres -d switchboard -c "create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())"
for f in /docker-entrypoint-initdb.d/migrations/*.sql; do
  psql -v ON_ERROR_STOP=1 -U postgres -d switchboard -f "$f"
  psql -v ON_ERROR_STOP=1 -U postgres -d switchboard -c "insert into schema_migrations (version) values ('$(basename "$f")') on conflict do nothing"
done
