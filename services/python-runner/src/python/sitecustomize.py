"""Loaded by every training job's interpreter (the platform puts this folder on PYTHONPATH).

It changes MLflow only where a plain script would otherwise fail, and only when the script
imports MLflow: each patch is applied right after the module it concerns is first imported,
so a script that never imports MLflow runs exactly as it would without this file, and an
MLflow version without the patched function is left as it is.

1. The experiment guard. The job's MLflow run already exists and is handed over in
   MLFLOW_RUN_ID, so that `mlflow.start_run()` logs into exactly that run. A script that calls
   `mlflow.set_experiment()` with another experiment would make MLflow fail with a message
   naming neither experiment; the guard stops it with one that names both.

2. The model serialization default. MLflow 3.17's sklearn and lightgbm flavors save with
   skops unless they run on Databricks, where they default to cloudpickle. skops refuses
   types it was not told to trust (every scikit-learn tree: `sklearn.tree._tree.Tree`), so the
   plain `mlflow.sklearn.log_model(model, "model")` of a forest or a gradient-boosting model
   fails. And skops buys nothing on this platform: MLflow reads a skops model's trusted types
   from the model's own MLmodel file and gates every format behind the same
   MLFLOW_ALLOW_PICKLE_DESERIALIZATION switch, so the loader trusts the model either way (the
   model worker is the trust boundary). The platform therefore defaults to cloudpickle, as
   MLflow's own hosted runtime does. What the script says wins: an explicit
   `serialization_format=...` is passed through untouched, and `skops_trusted_types=...`
   without a format means skops.
"""
import os
import sys

_JOB_EXPERIMENT = os.environ.get("MLFLOW_EXPERIMENT_NAME")
MISMATCH_MARKER = "[asgard] experiment mismatch:"
DEFAULT_SERIALIZATION_FORMAT = "cloudpickle"


def _guard(set_experiment):
    def guarded(experiment_name=None, experiment_id=None, *args, **kwargs):
        if experiment_name is not None and _JOB_EXPERIMENT and experiment_name != _JOB_EXPERIMENT:
            message = (
                f"{MISMATCH_MARKER} the script calls mlflow.set_experiment({experiment_name!r}) "
                f"but this job's experiment is {_JOB_EXPERIMENT!r}; submit the job with "
                f"experiment_name {experiment_name!r} or call set_experiment({_JOB_EXPERIMENT!r})"
            )
            print(message, file=sys.stderr, flush=True)
            raise SystemExit(message)
        return set_experiment(experiment_name, experiment_id, *args, **kwargs)

    guarded.__wrapped__ = set_experiment
    return guarded


def _guard_experiment(module):
    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None and hasattr(fluent, "set_experiment"):
        fluent.set_experiment = _guard(getattr(fluent.set_experiment, "__wrapped__", fluent.set_experiment))
    if hasattr(module, "set_experiment"):
        module.set_experiment = _guard(getattr(module.set_experiment, "__wrapped__", module.set_experiment))


def _with_default_format(save, signature):
    import functools

    @functools.wraps(save)
    def with_default(*args, **kwargs):
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:
            return save(*args, **kwargs)  # MLflow's own message for a wrong call
        if bound.arguments.get("serialization_format") is not None:
            return save(*args, **kwargs)
        trusted = bound.arguments.get("skops_trusted_types") is not None
        bound.arguments["serialization_format"] = "skops" if trusted else DEFAULT_SERIALIZATION_FORMAT
        return save(*bound.args, **bound.kwargs)

    with_default.asgard_default_format = True
    return with_default


def _default_serialization_format(module):
    # Only the flavors whose own default is skops outside Databricks have this function.
    if not callable(getattr(module, "_get_default_serialization_format", None)):
        return
    import inspect

    for name in ("log_model", "save_model"):
        save = getattr(module, name, None)
        if save is None or getattr(save, "asgard_default_format", False):
            continue
        try:
            signature = inspect.signature(save)
        except (TypeError, ValueError):
            continue
        if "serialization_format" in signature.parameters:
            setattr(module, name, _with_default_format(save, signature))


class _PatchOnImport:
    """Runs `patches[name](module)` right after `name` is imported (never for other modules).

    A meta path finder by protocol only: importing importlib.abc would cost every job's start.
    """

    def __init__(self, patches):
        self._patches = patches

    def find_spec(self, name, path, target=None):
        patch = self._patches.get(name)
        if patch is None:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            try:
                patch(module)
            except Exception as exc:  # noqa: BLE001 - an unknown MLflow stays unpatched, never broken
                print(f"[asgard] {name} left as it is: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

        spec.loader.exec_module = exec_and_patch
        return spec


def _patches():
    patches = {
        "mlflow.sklearn": _default_serialization_format,
        "mlflow.lightgbm": _default_serialization_format,
    }
    if _JOB_EXPERIMENT:
        patches["mlflow"] = _guard_experiment
    return patches


sys.meta_path.insert(0, _PatchOnImport(_patches()))
