/** A plain pyfunc model (no predict_proba) whose inputs can make it sleep or exit: the fault tests use them. */
const DOUBLER = `
class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        import os, time
        if float(model_input["crash"].max()) > 0:
            os._exit(3)
        if float(model_input["sleep"].max()) > 0:
            time.sleep(float(model_input["sleep"].max()))
        return (model_input["x"] * 2).tolist()

example = pd.DataFrame({"x": [1.0, 2.5], "sleep": [0.0, 0.0], "crash": [0.0, 0.0]})
`;

/**
 * Trains and logs the test models against the run's MLflow, as a user's script would, and
 * records what MLflow itself (in Python) predicts for a few probe rows — the reference the
 * service's answers are compared with. Kept small: a few features, a few trees.
 */
export const TRAIN_MODELS = `
import json, os
import mlflow, mlflow.pyfunc, mlflow.sklearn
import numpy as np, pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

mlflow.set_experiment(os.environ["EXPERIMENT"])
X, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0, random_state=0)
columns = ["alpha", "beta", "gamma", "delta"]
frame = pd.DataFrame(X, columns=columns)
probe = frame.iloc[:6]
out = {}

def log(fn):
    with mlflow.start_run() as run:
        info = fn()
    return {"run_id": run.info.run_id, "model_id": info.model_id, "uri": info.model_uri}

# Named columns (logged from a DataFrame; the signature comes from the input example).
forest = RandomForestClassifier(n_estimators=8, random_state=0).fit(frame, y)
m = log(lambda: mlflow.sklearn.log_model(forest, name="model", input_example=probe))
m["probe"] = probe.to_dict(orient="list")
m["predictions"] = mlflow.pyfunc.load_model(m["uri"]).predict(probe).tolist()
m["probabilities"] = mlflow.sklearn.load_model(m["uri"]).predict_proba(probe).tolist()
out["named"] = m

# A second version of it, trained differently (for latest and aliases).
forest2 = RandomForestClassifier(n_estimators=3, random_state=7).fit(frame, 1 - y)
m = log(lambda: mlflow.sklearn.log_model(forest2, name="model", input_example=probe))
m["probe"] = probe.to_dict(orient="list")
m["predictions"] = mlflow.pyfunc.load_model(m["uri"]).predict(probe).tolist()
out["named_v2"] = m

# No column names: logged from a numpy array, as the original examples did.
X3 = X[:, :3]
logistic = LogisticRegression().fit(X3, y)
m = log(lambda: mlflow.sklearn.log_model(logistic, name="model", signature=infer_signature(X3, logistic.predict(X3))))
m["probe"] = {"x0": X3[:6, 0].tolist(), "x1": X3[:6, 1].tolist(), "x2": X3[:6, 2].tolist()}
m["predictions"] = mlflow.pyfunc.load_model(m["uri"]).predict(X3[:6]).tolist()
m["probabilities"] = mlflow.sklearn.load_model(m["uri"]).predict_proba(X3[:6]).tolist()
out["positional"] = m

# A plain pyfunc model (no predict_proba).
${DOUBLER}m = log(lambda: mlflow.pyfunc.log_model(name="model", python_model=Doubler(), input_example=example))
m["probe"] = example.to_dict(orient="list")
m["predictions"] = list(mlflow.pyfunc.load_model(m["uri"]).predict(example))
out["pyfunc"] = m

print("RESULT " + json.dumps(out))
`;

/** Only the pyfunc model: its inputs can make it sleep or exit (the fault tests). */
export const TRAIN_PYFUNC = `
import json, os
import mlflow, mlflow.pyfunc
import pandas as pd

mlflow.set_experiment(os.environ["EXPERIMENT"])

${DOUBLER}with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(name="model", python_model=Doubler(), input_example=example)
m = {"run_id": run.info.run_id, "model_id": info.model_id, "uri": info.model_uri}
m["probe"] = example.to_dict(orient="list")
m["predictions"] = list(mlflow.pyfunc.load_model(m["uri"]).predict(example))
print("RESULT " + json.dumps({"pyfunc": m}))
`;

/**
 * For the compiled path: a RandomForest logged with the plain `mlflow.sklearn.log_model` (as
 * the README shows; the runtime shim picks its serialization) and the pyfunc model, which no
 * converter takes. Each records what MLflow predicts in Python for its probe rows.
 */
export const TRAIN_COMPILE = `
import json, os
import mlflow, mlflow.pyfunc, mlflow.sklearn
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

mlflow.set_experiment(os.environ["EXPERIMENT"])
X, y = make_classification(n_samples=400, n_features=6, n_informative=4, n_redundant=0, random_state=1)
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
probe = frame.iloc[:20]
out = {}

with mlflow.start_run() as run:
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(frame, y)
    info = mlflow.sklearn.log_model(forest, name="model", input_example=frame.iloc[:5])
m = {"run_id": run.info.run_id, "model_id": info.model_id, "uri": info.model_uri}
m["probe"] = probe.to_dict(orient="list")
m["predictions"] = mlflow.pyfunc.load_model(m["uri"]).predict(probe).tolist()
m["probabilities"] = mlflow.sklearn.load_model(m["uri"]).predict_proba(probe).tolist()
out["forest"] = m

${DOUBLER}with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(name="model", python_model=Doubler(), input_example=example)
m = {"run_id": run.info.run_id, "model_id": info.model_id, "uri": info.model_uri}
m["probe"] = example.to_dict(orient="list")
m["predictions"] = list(mlflow.pyfunc.load_model(m["uri"]).predict(example))
out["pyfunc"] = m

print("RESULT " + json.dumps(out))
`;

/** What the booster fixtures' jobs install: the e2e suite's list, so one cached environment serves both. */
export const BOOSTER_REQUIREMENTS = ["scikit-learn", "pandas", "lightgbm", "xgboost"];

/**
 * For the compiled path of LightGBM and XGBoost, each model logged with the plain call of
 * MLflow's docs: an LGBMClassifier through `mlflow.lightgbm` (three classes), an
 * XGBClassifier through `mlflow.xgboost`, a scikit-learn Pipeline ending in an XGBClassifier
 * through `mlflow.sklearn` (the converters registered for the boosters inside a pipeline),
 * and a raw LightGBM Booster (`lgb.train`), which no converter is given. Each records what
 * MLflow's own pyfunc load predicts for its probe rows, and the flavor's predict_proba.
 */
export const TRAIN_BOOSTERS = `
import json, os
import lightgbm as lgb
import mlflow, mlflow.lightgbm, mlflow.pyfunc, mlflow.sklearn, mlflow.xgboost
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.datasets import load_iris, make_classification
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

mlflow.set_experiment(os.environ["EXPERIMENT"])
iris, species = load_iris(return_X_y=True, as_frame=True)
iris.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
X, y = make_classification(n_samples=600, n_features=6, n_informative=4, n_redundant=0, random_state=3)
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
out = {}

def log(name, fn, probe, loader):
    with mlflow.start_run() as run:
        info = fn()
    m = {"run_id": run.info.run_id, "model_id": info.model_id, "uri": info.model_uri}
    m["probe"] = probe.to_dict(orient="list")
    m["predictions"] = mlflow.pyfunc.load_model(m["uri"]).predict(probe).tolist()
    if loader is not None:
        m["probabilities"] = loader.load_model(m["uri"]).predict_proba(probe).tolist()
    out[name] = m

lgbm = LGBMClassifier(n_estimators=30, verbose=-1).fit(iris, species)
log("lightgbm", lambda: mlflow.lightgbm.log_model(lgbm, name="model", input_example=iris.head()), iris.sample(20, random_state=0), mlflow.lightgbm)

xgbc = XGBClassifier(n_estimators=40, max_depth=3).fit(frame, y)
log("xgboost", lambda: mlflow.xgboost.log_model(xgbc, name="model", input_example=frame.iloc[:5]), frame.iloc[-20:], mlflow.xgboost)

pipeline = Pipeline([("scale", StandardScaler()), ("classify", XGBClassifier(n_estimators=20, max_depth=3))]).fit(frame, y)
log("pipeline", lambda: mlflow.sklearn.log_model(pipeline, name="model", input_example=frame.iloc[:5]), frame.iloc[-20:], mlflow.sklearn)

booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(frame, y), num_boost_round=10)
log("booster", lambda: mlflow.lightgbm.log_model(booster, name="model", input_example=frame.iloc[:5]), frame.iloc[:5], None)

print("RESULT " + json.dumps(out))
`;
