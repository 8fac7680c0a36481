"""Loaded by every training job's interpreter (the platform puts this folder on PYTHONPATH).

The job's MLflow run already exists and is handed over in MLFLOW_RUN_ID, so that
`mlflow.start_run()` logs into exactly that run. A script that calls
`mlflow.set_experiment()` with another experiment would make MLflow fail with a message
naming neither experiment; this shim stops it with one that names both.
"""
import importlib.abc
import importlib.util
import os
import sys

_JOB_EXPERIMENT = os.environ.get("MLFLOW_EXPERIMENT_NAME")
MISMATCH_MARKER = "[asgard] experiment mismatch:"


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


class _PatchMlflowOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "mlflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            fluent = sys.modules.get("mlflow.tracking.fluent")
            if fluent is not None and hasattr(fluent, "set_experiment"):
                fluent.set_experiment = _guard(fluent.set_experiment)
            if hasattr(module, "set_experiment"):
                module.set_experiment = _guard(getattr(module.set_experiment, "__wrapped__", module.set_experiment))

        spec.loader.exec_module = exec_and_patch
        return spec


if _JOB_EXPERIMENT:
    sys.meta_path.insert(0, _PatchMlflowOnImport())
