"""The compiled path of the inference worker: converting a loaded model to ONNX, checking
that ONNX Runtime predicts what the Python model predicts, and serving from ONNX Runtime.

Imported by worker.py only for the `compile` and `load_onnx` requests. The converter tools
(skl2onnx, onnxmltools, onnx, onnxruntime) live in an environment of their own, pinned by the
service; `use_tools` appends its site-packages to sys.path, after the model's environment,
so scikit-learn, LightGBM, XGBoost and numpy stay the model's own versions.
"""

import sys
import sysconfig

# Relative tolerance of probabilities and regression outputs. ONNX Runtime computes in float32,
# so values are compared relative to max(|python value|, ABS_FLOOR): a value below 1 in
# magnitude (every probability, a regression output near 0) is held to 1e-5 absolute. A forest
# of 100 trees sums 100 float32 leaf values: measured up to 6.6e-7 absolute on probabilities
# of 0.01 and less, which a purely relative 1e-5 would refuse.
RTOL = 1e-5
ABS_FLOOR = 1.0
GENERATED_ROWS = 200
NUMERIC_COLUMN_TYPES = {"double", "float", "long", "integer", "boolean"}
INTEGER_COLUMN_TYPES = {"long", "integer"}


class NotCompiled(Exception):
    """The model cannot be served by ONNX Runtime; the message says why (shown in its status)."""


def use_tools(prefix):
    path = sysconfig.get_path("purelib", vars={"base": prefix, "platbase": prefix})
    if path not in sys.path:
        sys.path.append(path)


def _session(model_bytes_or_path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One model worker per loaded model on small machines: one thread each, no spinning.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes_or_path, options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """A model served by ONNX Runtime: the same `frame`/`predict` shape as worker.Model.

    `classes`: the Python model's classes_, in the order of its probability columns. With
    them a classifier's label is the first class whose probability is within RTOL of the
    highest, as scikit-learn's argmax takes the first of equal maxima: a forest's 25 votes
    against 25 are an exact tie in float64, and float32 sums break it either way.
    """

    def __init__(self, source, classes=None):
        self._session = _session(source)
        self._input = self._session.get_inputs()[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        self._label = outputs[0]
        self._proba = outputs[1] if len(outputs) > 1 else None
        self._classes = None
        if classes is not None and self._proba is not None:
            import numpy as np

            self._classes = np.asarray(classes, dtype=object)

    @property
    def has_proba(self):
        return self._proba is not None

    def frame(self, columns, values):
        import numpy as np

        # Columns arrive in the model's order, checked and typed by the service; null is NaN.
        return np.ascontiguousarray(np.asarray(values, dtype=np.float32).T)

    def predict(self, data, proba, params):
        import numpy as np

        if self._classes is not None:
            (probabilities,) = self._session.run([self._proba], {self._input: data})
            if probabilities.shape[1] == len(self._classes):
                top = probabilities.max(axis=1, keepdims=True)
                first = np.argmax(probabilities >= top - RTOL * np.maximum(top, ABS_FLOOR), axis=1)
                return self._classes[first], (probabilities if proba else None)
        names = [self._label, self._proba] if proba and self._proba else [self._label]
        out = self._session.run(names, {self._input: data})
        labels = out[0]
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels.ravel()
        return labels, (out[1] if len(out) > 1 else None)


def feature_count(model):
    """Width of the float matrix the ONNX graph takes, or NotCompiled when inputs are not all numeric."""
    spec = model.input
    if spec["kind"] == "columns":
        kinds = {c["type"] for c in spec["columns"]}
        if not kinds <= NUMERIC_COLUMN_TYPES:
            raise NotCompiled(f"its signature has non-numeric columns ({', '.join(sorted(kinds - NUMERIC_COLUMN_TYPES))})")
        return len(spec["columns"])
    if spec["kind"] == "tensor" and len(spec["shape"]) == 2 and spec["shape"][1] > 0:
        return spec["shape"][1]
    if spec["kind"] == "none" and spec["n_features"]:
        return spec["n_features"]
    raise NotCompiled("its input has no fixed number of numeric features")


def _check_compilable(model):
    if model.native is None:
        raise NotCompiled(f"it is served through pyfunc.predict ({model.flavor}); only scikit-learn, LightGBM and XGBoost estimators are compiled")
    if model.params_schema is not None and model.params_schema.params:
        raise NotCompiled("its signature declares inference parameters")
    if getattr(model._predict, "__name__", "predict") != "predict":
        raise NotCompiled(f"it predicts with {model._predict.__name__}, not predict")
    if type(model.native).__module__.startswith("lightgbm.basic"):
        raise NotCompiled("a raw LightGBM Booster is not compiled (its predict returns scores)")


def _register_boosters():
    """Lets skl2onnx convert LightGBM's and XGBoost's scikit-learn classes, alone or in a pipeline."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes, calculate_linear_regressor_output_shapes

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        import lightgbm
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes, convert_lightgbm, options=classifier_options)
        update_registered_converter(lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes, convert_lightgbm)
    except ImportError:
        pass
    try:
        import xgboost
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

        update_registered_converter(xgboost.XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes, convert_xgboost, options=classifier_options)
        update_registered_converter(xgboost.XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes, convert_xgboost)
    except ImportError:
        pass


def _final_estimator(raw):
    steps = getattr(raw, "steps", None)
    return steps[-1][1] if steps else raw


def _convert(model, n_features):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    _register_boosters()
    final = _final_estimator(model.native)
    # Probabilities as one float matrix (not a list of maps), as predict_proba returns them.
    options = {type(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    try:
        onx = to_onnx(model.native, initial_types=[("input", FloatTensorType([None, n_features]))], options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    except Exception as exc:  # noqa: BLE001 - the converters raise anything for what they do not support
        raise NotCompiled(f"the converter refused it: {type(exc).__name__}: {exc}") from exc
    return onx.SerializeToString()


def _example_matrix(model, path, columns):
    """The logged input example as rows × features (float64), or None when there is none."""
    import numpy as np
    import pandas as pd
    from mlflow.models import Model as MlflowModel

    try:
        example = MlflowModel.load(path).load_input_example(path)
    except Exception:  # noqa: BLE001 - an unreadable example only means no example rows
        return None
    if example is None:
        return None
    if isinstance(example, dict):
        example = pd.DataFrame(example)
    if isinstance(example, pd.DataFrame):
        if columns is not None and all(c in example.columns for c in columns):
            example = example[columns]
        example = example.to_numpy()
    matrix = np.asarray(example, dtype=np.float64)
    return matrix if matrix.ndim == 2 else matrix.reshape(-1, 1)


def _generated(example, n_features, kinds, rng):
    """Rows spread over the example's range per feature, a little beyond it (or N(0, 1) without an example)."""
    import numpy as np

    if example is not None and example.shape[0] > 0 and example.shape[1] == n_features:
        lo = np.nanmin(example, axis=0)
        hi = np.nanmax(example, axis=0)
        span = np.where(hi > lo, hi - lo, np.maximum(np.abs(lo), 1.0))
        rows = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=(GENERATED_ROWS, n_features))
    else:
        rows = rng.normal(0.0, 1.0, size=(GENERATED_ROWS, n_features))
    for i, kind in enumerate(kinds):
        if kind in INTEGER_COLUMN_TYPES:
            rows[:, i] = np.round(rows[:, i])
        elif kind == "boolean":
            rows[:, i] = rows[:, i] > np.median(rows[:, i])
    return rows


def _compare(what, python, onnx):
    """The largest error relative to max(|python|, ABS_FLOOR); NotCompiled beyond RTOL."""
    import numpy as np

    python = np.asarray(python, dtype=np.float64)
    onnx = np.asarray(onnx, dtype=np.float64).reshape(python.shape) if np.size(onnx) == np.size(python) else None
    if onnx is None:
        raise NotCompiled(f"ONNX Runtime returned {what} of another shape than the Python model")
    err = np.abs(onnx - python) / np.maximum(np.abs(python), ABS_FLOOR)
    worst = float(np.nanmax(err)) if err.size else 0.0
    if not np.array_equal(np.isnan(python), np.isnan(onnx)) or worst > RTOL:
        raise NotCompiled(f"ONNX Runtime's {what} differ from the Python model's by {worst:.3g} (relative to max(|value|, {ABS_FLOOR})), more than {RTOL}")
    return worst


def _check_parity(model, compiled, rows, is_classifier):
    import numpy as np

    columns = model.input["columns"] if model.input["kind"] == "columns" else None
    names = [c["name"] for c in columns] if columns is not None and all(c["name"] is not None for c in columns) else None
    if model.input["kind"] == "none":
        names = model.input["feature_names"]
    values = rows.T.tolist()
    kinds = [c["type"] for c in columns] if columns is not None else []
    if kinds:
        values = [[bool(v) for v in col] if kind == "boolean" else col for col, kind in zip(values, kinds)]
    want_proba = model._proba is not None
    python, python_proba = model.predict(model.frame(names, values), want_proba, None)
    onnx, onnx_proba = compiled.predict(compiled.frame(names, values), want_proba, None)
    worst = 0.0
    if is_classifier:
        if not np.array_equal(np.asarray(python).ravel(), np.asarray(onnx).ravel()):
            differ = int(np.sum(np.asarray(python).ravel() != np.asarray(onnx).ravel()))
            raise NotCompiled(f"ONNX Runtime predicts another label than the Python model for {differ} of {len(rows)} rows")
    else:
        worst = _compare("predictions", python, onnx)
    if want_proba:
        if onnx_proba is None:
            raise NotCompiled("the ONNX graph returns no probabilities")
        worst = max(worst, _compare("probabilities", python_proba, onnx_proba))
    return worst


def compile_model(model, path):
    """ONNX bytes of the model and the parity report; NotCompiled with the reason otherwise."""
    import numpy as np

    _check_compilable(model)
    n_features = feature_count(model)
    data = _convert(model, n_features)
    compiled = OnnxModel(data, model.info()["classes"])
    is_classifier = compiled.has_proba and hasattr(_final_estimator(model.native), "predict_proba")
    if model._proba is not None and not compiled.has_proba:
        raise NotCompiled("the ONNX graph returns no probabilities")
    columns = model.input["columns"] if model.input["kind"] == "columns" else None
    kinds = [c["type"] for c in columns] if columns is not None else []
    example = _example_matrix(model, path, [c["name"] for c in columns] if columns is not None else None)
    if example is not None and example.shape[1] != n_features:
        example = None
    generated = _generated(example, n_features, kinds, np.random.default_rng(0))
    worst = _check_parity(model, compiled, generated, is_classifier)
    if example is not None:
        worst = max(worst, _check_parity(model, compiled, example, is_classifier))
    report = {
        "example_rows": 0 if example is None else int(example.shape[0]),
        "generated_rows": GENERATED_ROWS,
        "max_relative_error": worst,
        "rtol": RTOL,
        "abs_floor": ABS_FLOOR,
    }
    return data, report
