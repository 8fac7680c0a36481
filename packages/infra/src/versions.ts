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
  ray: "2.60.0",
} as const;
