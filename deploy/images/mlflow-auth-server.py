"""Starts `mlflow server` with MLflow's basic-auth app, as every deployment of Asgard runs it.

The auth app reads its users database only from an ini file (MLFLOW_AUTH_CONFIG_PATH), so this
writes one, readable by this user only, from MLFLOW_AUTH_DATABASE_URI, then execs the server
with the arguments given. The settings match packages/infra/src/mlflow.ts (mlflowAuthConfig):
nobody may do anything unless granted, and verified credentials are cached for 60 s so that a
request does not cost a password hash. The admin user comes from MLFLOW_AUTH_ADMIN_USERNAME and
MLFLOW_AUTH_ADMIN_PASSWORD (created on the first start), Flask's key from
MLFLOW_FLASK_SERVER_SECRET_KEY; none of them is ever printed.
"""
import os
import sys
import tempfile

REQUIRED = ("MLFLOW_AUTH_DATABASE_URI", "MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")

CONFIG = """[mlflow]
default_permission = NO_PERMISSIONS
database_uri = {database_uri}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
auth_cache_ttl_seconds = 60
auth_cache_max_size = 10000
"""


def main() -> None:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        sys.exit(f"mlflow-auth-server: set {', '.join(missing)} (see docs/operations.md, Secrets)")
    path = os.path.join(tempfile.mkdtemp(prefix="mlflow-auth-"), "basic_auth.ini")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        # configparser interpolates `%`: a percent-encoded URI must double it.
        f.write(CONFIG.format(database_uri=os.environ.pop("MLFLOW_AUTH_DATABASE_URI").replace("%", "%%")))
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = path
    os.execvp("mlflow", ["mlflow", "server", "--app-name", "basic-auth", *sys.argv[1:]])


if __name__ == "__main__":
    main()
