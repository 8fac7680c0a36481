# syntax=docker/dockerfile:1.7
#
# The MLflow tracking server Asgard runs against, at the version jobs get as their client
# (TOOL_VERSIONS.mlflow in packages/infra/src/versions.ts). PostgreSQL backend store
# (psycopg: SQLAlchemy 2.1 reads postgresql:// as psycopg 3; psycopg2 for postgresql+psycopg2://) and an S3 artifact destination (boto3) served through the tracking server, so
# only this process holds the artifact store's credentials. The `auth` extra is MLflow's
# basic-auth app, which every deployment runs (mlflow-auth-server.py).
#
#   docker build -f deploy/images/mlflow.Dockerfile -t asgard/mlflow deploy/images

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
ARG MLFLOW_VERSION=3.17.2
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install "mlflow[auth]==${MLFLOW_VERSION}" "psycopg[binary]" psycopg2-binary boto3 \
 && groupadd --system --gid 10001 mlflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mlflow --create-home --shell /usr/sbin/nologin mlflow
COPY http-probe.py /opt/asgard/http-probe.py
COPY ensure-bucket.py /opt/asgard/ensure-bucket.py
COPY mlflow-auth-server.py /opt/asgard/mlflow-auth-server.py
EXPOSE 5000
USER 10001:10001
WORKDIR /var/lib/mlflow
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=5 \
  CMD ["python", "/opt/asgard/http-probe.py", "5000", "/health"]
# The backend store URI and artifact destination come from the orchestrator (compose or
# Kubernetes), with --allowed-hosts naming the host names clients use; the auth settings
# from the environment (mlflow-auth-server.py).
ENTRYPOINT ["python", "/opt/asgard/mlflow-auth-server.py"]
