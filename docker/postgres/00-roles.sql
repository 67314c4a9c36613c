-- Runs once, before the migrations (files run in name order: 00-… before 2026…). The roles
-- PostgREST switches to, as a Supabase project has them. Tables created later inherit the grants.
create role anon nologin;
create role service_role nologin bypassrls;
grant usage on schema public to anon, service_role;
alter default privileges in schema public grant all on tables to service_role;
alter default privileges in schema public grant all on sequences to service_role;
alter default privileges in schema public grant execute on functions to service_role;
