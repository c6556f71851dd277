-- The role the app switches to (DATABASE_APP_ROLE): row-level security binds it, as it
-- binds no superuser. The login that owns the tables (POSTGRES_USER) runs migrations
-- and grants this role what it needs; the app's connections then SET ROLE to it.
-- Runs once, when the image initialises an empty data directory.
CREATE ROLE cmi_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
