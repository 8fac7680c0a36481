"""Asgard inference worker: holds one loaded model and predicts on whole batches.

The inference service starts one of these per loaded model version, with the interpreter
of the environment built from that model's own logged requirements. The protocol is
private to the service: frames on stdin (requests) and stdout (replies), each a 4-byte
big-endian length followed by that many bytes of UTF-8 JSON. Requests are answered one
at a time, in order. The worker runs in a sandbox with no network, a read-only view of its
environment and model, and a private /tmp as its working directory and HOME.

Requests:
  {"op": "load", "path": <local model directory>}
  {"op": "load_onnx", "path": <.onnx file>, "tools": <converter environment>, "info": <the Python load's info>}
  {"op": "compile", "path": <local model directory>, "tools": <converter environment>}
     loads the model, converts it to ONNX and checks parity (see compiled.py); the reply
     carries the graph in base64 ("onnx") and the parity report, or kind "compile" and why not.
  {"op": "predict", "id": n, "columns": [name, ...] | null, "values": [[column values], ...],
   "proba": bool, "params": {...} | null}
Replies: {"ok": true, ...} or {"ok": false, "kind": "load" | "input" | "model", "error": text}.
End of stdin ends the worker.
"""

import base64
import json
import math
import os
import struct
import sys
import time
import traceback
import warnings


def _protocol_streams():
    """Takes stdin and stdout for the protocol and gives model code /dev/null and stderr instead.

    MLflow and model code print warnings (from Python or from C libraries, straight to fd 1)
    and may read stdin: neither may touch a frame. The duplicates are not inherited by
    processes the model starts.
    """
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return requests, replies


REQUESTS, REPLIES = _protocol_streams()

# Numpy dtype of each MLflow column type; None (JSON null) becomes NaN in float columns.
COLUMN_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
}


def read_frame():
    head = REQUESTS.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    body = REQUESTS.read(size)
    if len(body) < size:
        return None
    return json.loads(body)


def _default(value):
    # numpy scalars and arrays, pandas timestamps, bytes: whatever a model returns.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _finite(value):
    """JSON has no NaN or Infinity: they become null (the slow path, only when present)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist") or hasattr(value, "item"):
        return _finite(_default(value))
    return value


def write_frame(reply):
    try:
        text = json.dumps(reply, allow_nan=False, default=_default, separators=(",", ":"))
    except ValueError:
        text = json.dumps(_finite(reply), allow_nan=False, default=_default, separators=(",", ":"))
    data = text.encode("utf-8")
    REPLIES.write(struct.pack(">I", len(data)) + data)
    REPLIES.flush()


def rss_bytes():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def describe(exc):
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:2000] + "…"


def _is_xgboost_estimator(raw):
    import xgboost

    return isinstance(raw, xgboost.XGBModel)


# How each flavor is served: the one place that decides it. For the loader modules listed,
# MLflow's pyfunc wrapper does nothing but call the raw model's own predict function on the
# data it is given (after its schema enforcement, which the service has already done for the
# batch: checked and typed every column against the signature). The worker calls that same
# function on the raw model, and takes class probabilities from the raw model's
# predict_proba when it has one: scikit-learn estimators and pipelines, LightGBM's and
# XGBoost's scikit-learn classes. Each entry says which raw models qualify; any other model
# (a raw xgboost Booster needs a DMatrix, a python_function model, every other flavor) is
# served through `pyfunc.predict`, exactly as MLflow's scoring server does, without
# probabilities.
NATIVE_FLAVORS = {
    "mlflow.sklearn": lambda raw: True,
    # A Booster's predict takes a DataFrame too; an LGBMClassifier adds predict_proba.
    "mlflow.lightgbm": lambda raw: True,
    # The wrapper calls XGBModel.predict(data, validate_features=True), the method's default.
    "mlflow.xgboost": _is_xgboost_estimator,
}


class Model:
    """A loaded model: its predict functions and what the service needs to check inputs."""

    def __init__(self, path):
        import mlflow.pyfunc

        # Loading a model runs code from its artifact (cloudpickle, pickle, and skops too: its
        # trusted types are read from the model's own MLmodel). This worker is that trust
        # boundary; the service allows it in the worker's environment (MLFLOW_ALLOW_PICKLE_DESERIALIZATION).
        self._pyfunc = mlflow.pyfunc.load_model(path)
        meta = self._pyfunc.metadata
        pyfunc_conf = meta.flavors.get("python_function") or {}
        self.params_schema = meta.get_params_schema()
        self.flavor = pyfunc_conf.get("loader_module") or "python_function"
        # Column labels per column list: building a pandas Index is most of a small frame's cost.
        self._indexes = {}
        self.native = None
        self._predict = None
        self._proba = None
        try:
            raw = self._pyfunc.get_raw_model()
        except Exception:  # noqa: BLE001 - python_function models have no raw model
            raw = None
        self.model_class = f"{type(raw).__module__}.{type(raw).__qualname__}" if raw is not None else None
        qualifies = NATIVE_FLAVORS.get(self.flavor)
        if raw is not None and qualifies is not None and qualifies(raw):
            self.native = raw
            self._predict = getattr(raw, pyfunc_conf.get("predict_fn") or "predict")
            self._proba = getattr(raw, "predict_proba", None)
        self.input = self._input_spec(meta.get_input_schema())

    def _input_spec(self, schema):
        if schema is None:
            names = getattr(self.native, "feature_names_in_", None)
            count = getattr(self.native, "n_features_in_", None)
            return {
                "kind": "none",
                "feature_names": [str(n) for n in names] if names is not None else None,
                "n_features": int(count) if count is not None else None,
            }
        if schema.is_tensor_spec():
            if len(schema.inputs) != 1 or schema.has_input_names():
                return {"kind": "unsupported", "reason": "its signature takes several named tensors"}
            tensor = schema.inputs[0]
            return {"kind": "tensor", "dtype": str(tensor.type), "shape": [int(d) for d in tensor.shape]}
        columns = []
        for spec in schema.inputs:
            d = spec.to_dict()
            kind = d.get("type")
            columns.append({"name": d.get("name"), "type": kind if isinstance(kind, str) else "object", "required": bool(d.get("required", True))})
        return {"kind": "columns", "columns": columns}

    def info(self):
        classes = getattr(self.native, "classes_", None)
        return {
            "flavor": self.flavor,
            "model_class": self.model_class,
            "has_proba": self._proba is not None,
            "classes": classes.tolist() if hasattr(classes, "tolist") else None,
            "input": self.input,
            "params": [p.name for p in self.params_schema.params] if self.params_schema is not None else [],
        }

    def frame(self, columns, values):
        import numpy as np
        import pandas as pd

        spec = self.input
        if spec["kind"] == "tensor":
            dtype = spec["dtype"]
            if len(spec["shape"]) == 1:
                return np.asarray(values[0], dtype=dtype)
            return np.asarray(values, dtype=dtype).T
        if spec["kind"] == "columns":
            types = [c["type"] for c in spec["columns"]]
            labels = columns if columns is not None else list(range(len(values)))
            dtype = COLUMN_DTYPES.get(types[0]) if types else None
            if dtype is not None and dtype != "object" and all(t == types[0] for t in types):
                # One block for all columns, labelled by a cached Index: a few µs instead of ~100.
                return pd.DataFrame(np.asarray(values, dtype=dtype).T, columns=self._index(labels), copy=False)
            return pd.DataFrame({label: self._column(v, t) for label, v, t in zip(labels, values, types)})
        # No signature: what the request sent, in its order (or the model's feature names).
        labels = columns if columns is not None else list(range(len(values)))
        frame = pd.DataFrame({label: v for label, v in zip(labels, values)})
        if self.native is not None and spec["feature_names"] is None:
            # Fitted on an array: a frame would only make scikit-learn warn about feature names.
            return frame.to_numpy()
        return frame

    def _index(self, labels):
        import pandas as pd

        key = tuple(labels)
        index = self._indexes.get(key)
        if index is None:
            if len(self._indexes) > 64:
                self._indexes.clear()
            index = self._indexes[key] = pd.Index(labels)
        return index

    @staticmethod
    def _column(values, kind):
        import numpy as np
        import pandas as pd

        if kind == "datetime":
            return pd.to_datetime(pd.Series(values))
        dtype = COLUMN_DTYPES.get(kind)
        return np.asarray(values, dtype=dtype if dtype is not None else object)

    def predict(self, data, proba, params):
        # Inference parameters (declared by the signature) go where MLflow sends them.
        if self.native is None or params:
            out = self._pyfunc.predict(data, params=params) if params else self._pyfunc.predict(data)
            return out, None
        predictions = self._predict(data)
        probabilities = self._proba(data) if proba else None
        return predictions, probabilities


def as_rows(output):
    """One entry per input row, as MLflow's scoring server renders each output type."""
    import numpy as np

    # numpy first: the ONNX worker never imports pandas (a second of start-up, tens of MB).
    if isinstance(output, np.ndarray):
        return output.tolist()
    import pandas as pd

    if isinstance(output, pd.DataFrame):
        return output.to_dict(orient="records")
    if isinstance(output, pd.Series):
        return output.tolist()
    if isinstance(output, (list, tuple)):
        return list(output)
    raise TypeError(f"the model returned {type(output).__name__}; expected an array, a Series, a DataFrame or a list")


def handle_predict(model, request, received):
    try:
        data = model.frame(request.get("columns"), request["values"])
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        return {"ok": False, "kind": "input", "error": describe(exc)}
    try:
        started = time.perf_counter()
        predictions, probabilities = model.predict(data, bool(request.get("proba")), request.get("params"))
        predict_ms = (time.perf_counter() - started) * 1000.0
        rows = as_rows(predictions)
        if probabilities is not None:
            if getattr(probabilities, "ndim", 0) != 2:
                raise TypeError("predict_proba did not return one row of class probabilities per input row")
            probabilities = probabilities.tolist()
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        traceback.print_exc(file=sys.stderr)
        return {"ok": False, "kind": "model", "error": describe(exc)}
    handled_ms = (time.perf_counter() - received) * 1000.0
    return {"ok": True, "predictions": rows, "probabilities": probabilities, "predict_ms": predict_ms, "handled_ms": handled_ms}


def _compiled():
    # -I leaves the script's own directory off sys.path.
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import compiled

    return compiled


def handle_load_onnx(request, started):
    compiled = _compiled()
    compiled.use_tools(request["tools"])
    model = compiled.OnnxModel(request["path"], request["info"].get("classes"))
    reply = {"ok": True, "info": request["info"], "load_ms": (time.perf_counter() - started) * 1000.0, "rss_bytes": rss_bytes()}
    return model, reply


def handle_compile(request):
    compiled = _compiled()
    compiled.use_tools(request["tools"])
    try:
        model = Model(request["path"])
        data, report = compiled.compile_model(model, request["path"])
    except compiled.NotCompiled as exc:
        return {"ok": False, "kind": "compile", "error": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - a converter may raise anything
        traceback.print_exc(file=sys.stderr)
        return {"ok": False, "kind": "compile", "error": describe(exc)}
    return {"ok": True, "onnx": base64.b64encode(data).decode("ascii"), "parity": report}


def main():
    warnings.simplefilter("default")
    model = None
    while True:
        request = read_frame()
        received = time.perf_counter()
        if request is None:
            return
        op = request.get("op")
        if op == "load":
            started = time.perf_counter()
            try:
                model = Model(request["path"])
                reply = {"ok": True, "info": model.info(), "load_ms": (time.perf_counter() - started) * 1000.0, "rss_bytes": rss_bytes()}
            except BaseException as exc:  # noqa: BLE001 - a model's import may raise anything
                traceback.print_exc(file=sys.stderr)
                reply = {"ok": False, "kind": "load", "error": describe(exc)}
        elif op == "load_onnx":
            try:
                model, reply = handle_load_onnx(request, received)
            except BaseException as exc:  # noqa: BLE001 - reported to the service, which keeps the Python path
                traceback.print_exc(file=sys.stderr)
                reply = {"ok": False, "kind": "load", "error": describe(exc)}
        elif op == "compile":
            reply = handle_compile(request)
        elif op == "predict" and model is not None:
            reply = handle_predict(model, request, received)
        else:
            reply = {"ok": False, "kind": "input", "error": f"unexpected request {op!r}"}
        reply["id"] = request.get("id")
        write_frame(reply)


if __name__ == "__main__":
    main()
