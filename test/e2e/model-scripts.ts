import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Scripts that log the models users train most, each with the plain `log_model` call of
 * MLflow's docs (no serialization option, no trusted-types list): what the platform must
 * take unchanged through train → register → serve.
 */

/** The README's "Train a model" example (a RandomForest on a numpy array, with an input example), read from the README itself. */
export function readmeScript(): string {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
  const match = /cat > train\.py <<'PY'\n([\s\S]*?)\nPY\n/.exec(readme);
  if (!match?.[1]) throw new Error("README.md has no `cat > train.py <<'PY'` example");
  return `${match[1]}\n`;
}

/** A GradientBoosting in a Pipeline with a ColumnTransformer on a pandas frame (named, mixed columns); no input example. */
export const PIPELINE_SCRIPT = `
import mlflow, mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

rng = np.random.default_rng(0)
n = 600
customers = pd.DataFrame({
    "age": rng.integers(18, 80, n),
    "income": rng.normal(50_000, 15_000, n),
    "city": rng.choice(["oslo", "bergen", "tromso"], n),
})
churned = ((customers["age"] < 35) & (customers["city"] != "oslo")) | (customers["income"] < 35_000)

model = Pipeline([
    ("prepare", ColumnTransformer([
        ("numbers", StandardScaler(), ["age", "income"]),
        ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
    ])),
    ("classify", GradientBoostingClassifier(n_estimators=50)),
])

with mlflow.start_run():
    model.fit(customers, churned)
    mlflow.log_metric("accuracy", model.score(customers, churned))
    mlflow.sklearn.log_model(model, "model")
    print("pipeline logged")
`;

/** LightGBM's scikit-learn classifier on iris (three classes), logged through MLflow's LightGBM flavor. */
export const LIGHTGBM_SCRIPT = `
import mlflow, mlflow.lightgbm
from lightgbm import LGBMClassifier
from sklearn.datasets import load_iris

X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

with mlflow.start_run():
    model = LGBMClassifier(n_estimators=30, verbose=-1)
    model.fit(X, y)
    mlflow.log_metric("accuracy", model.score(X, y))
    mlflow.lightgbm.log_model(model, "model", input_example=X.head())
    print("lightgbm logged")
`;

/** XGBoost's scikit-learn classifier on a named frame, logged through MLflow's XGBoost flavor. */
export const XGBOOST_SCRIPT = `
import mlflow, mlflow.xgboost
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

X, y = make_classification(n_samples=800, n_features=6, n_informative=4, random_state=0)
X = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

with mlflow.start_run():
    model = XGBClassifier(n_estimators=40, max_depth=3)
    model.fit(X_train, y_train)
    mlflow.log_metric("accuracy", model.score(X_test, y_test))
    mlflow.xgboost.log_model(model, "model", input_example=X_test.head())
    print("xgboost logged")
`;

/**
 * What a user runs to check a registered model: MLflow's own pyfunc load of it and, for the
 * probabilities, the flavor's own loader — MLflow's answers, to compare the service's with.
 * Runs as a job in the training jobs' environment (the packages the models were trained with).
 */
export const referenceScript = (cases: Record<string, { uri: string; flavor: string; inputs: Record<string, unknown[]> }>) => `
import importlib, json
import mlflow.pyfunc
import pandas as pd

cases = json.loads(${JSON.stringify(JSON.stringify(cases))})
out = {}
for name, case in cases.items():
    frame = pd.DataFrame(case["inputs"])
    predictions = mlflow.pyfunc.load_model(case["uri"]).predict(frame)
    native = importlib.import_module("mlflow." + case["flavor"]).load_model(case["uri"])
    out[name] = {"predictions": predictions.tolist(), "probabilities": native.predict_proba(frame).tolist()}
print("REFERENCE " + json.dumps(out))
`;
