/** Training scripts the end-to-end tests upload, as users would write them. */

/** The seed report's complete example, verbatim. */
export const SEED_SCRIPT = `
import mlflow
from sklearn.ensemble import RandomForestClassifier
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score

mlflow.set_experiment("my-experiment")

with mlflow.start_run() as run:
    X, y = make_classification(n_samples=1000, n_features=20)
    model = RandomForestClassifier()
    model.fit(X, y)

    accuracy = accuracy_score(y, model.predict(X))
    mlflow.log_metric("accuracy", accuracy)
    mlflow.log_param("n_estimators", 100)

    print(f"Accuracy: {accuracy:.4f}")
`;

/** Logs an sklearn model the way the seed's users wanted to. */
export const MODEL_SCRIPT = `
import mlflow, mlflow.sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import make_classification

X, y = make_classification(n_samples=200, n_features=5, random_state=0)
with mlflow.start_run():
    model = LogisticRegression(max_iter=200).fit(X, y)
    mlflow.log_metric("train_accuracy", model.score(X, y))
    mlflow.sklearn.log_model(model, "model", input_example=X[:2])
    print("model logged")
`;

export const FAILING_SCRIPT = `
import mlflow
with mlflow.start_run():
    mlflow.log_param("stage", "before-failure")
    print("about to fail", flush=True)
    raise ValueError("the training data is empty")
`;

/** Sleeps forever and leaves a SIGTERM-ignoring child and a setsid grandchild behind. */
export const stubbornScript = (marker: string) => `
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(100000)", "${marker}"])
subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(100000)", "${marker}"])
print("started children", flush=True)
while True:
    time.sleep(1)
`;

/** Prints its environment and every process environ file under /proc it can read, looking for canaries. */
export const snoopScript = (canaries: string[]) => `
import glob, os
found = []
canaries = ${JSON.stringify(canaries)}
for key, value in os.environ.items():
    print(f"ENV {key}={value}")
for path in glob.glob("/proc/*/environ"):
    try:
        data = open(path, "rb").read().decode("utf-8", "replace")
    except Exception as exc:
        continue
    for c in canaries:
        if c in data:
            found.append(path)
print("PROCS", sorted(os.listdir("/proc"))[:50])
print("FOUND", found)
`;

/**
 * Tries to install into its own environment: a wheel it builds itself (no index needed),
 * installed with the environment's pip when it has one, then a direct write into site-packages.
 */
export const PIP_INSTALL_SCRIPT = `
import os, subprocess, sys, sysconfig, zipfile
wheel = os.path.abspath("probe_pkg-0.1-py3-none-any.whl")
with zipfile.ZipFile(wheel, "w") as z:
    z.writestr("probe_pkg/__init__.py", "")
    z.writestr("probe_pkg-0.1.dist-info/METADATA", "Metadata-Version: 2.1\\nName: probe-pkg\\nVersion: 0.1\\n")
    z.writestr("probe_pkg-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: probe\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("probe_pkg-0.1.dist-info/RECORD", "")
try:
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", wheel],
                            capture_output=True, text=True, timeout=20)
    print("pip exit", result.returncode)
    print((result.stdout + result.stderr).strip()[-400:])
except subprocess.TimeoutExpired:
    print("pip timed out")
try:
    import probe_pkg
    print("INSTALLED INTO ENV")
    sys.exit(0)
except ImportError:
    pass
target = os.path.join(sysconfig.get_paths()["purelib"], "asgard_write_probe.txt")
try:
    open(target, "w").write("x")
    print("WROTE INTO ENV")
    sys.exit(0)
except OSError as exc:
    print("env is read-only:", exc)
    sys.exit(3)
`;

export const SLEEP_SCRIPT = (seconds: number, text = "done") => `
import time
print(f"script_start_ms={int(time.time() * 1000)}", flush=True)
print("sleeping", flush=True)
time.sleep(${seconds})
print("${text}", flush=True)
print(f"script_end_ms={int(time.time() * 1000)}", flush=True)
`;
