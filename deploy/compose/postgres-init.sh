#!/bin/sh
# First start of the compose PostgreSQL: one role and database for the job-scheduler and
# one for MLflow (its tracking store, and its basic-auth users and grants in mlflow_auth), so
# neither can read the other's tables. Passwords come from the
# container's environment (deploy/.env); psql's :'var' quoting keeps them literal.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v asgard_password="$ASGARD_DB_PASSWORD" -v mlflow_password="$MLFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE asgard LOGIN PASSWORD :'asgard_password';
CREATE DATABASE asgard OWNER asgard;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
CREATE DATABASE mlflow_auth OWNER mlflow;
SQL
