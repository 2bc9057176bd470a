"""Train: fit the model on the train channel and save it where SageMaker packs model.tar.gz.

Run by the SageMaker scikit-learn training container in script mode: the training job's
hyperparameters `sagemaker_submit_directory` (the code bundle, unpacked to /opt/ml/code) and
`sagemaker_program` (`pipelines/entrypoints/train.py`) make the container run

    python pipelines/entrypoints/train.py --algorithm hist_gradient_boosting \
        --model_params <packed JSON> --seed 0
    python pipelines/entrypoints/train.py --entry_point user_model.my_model \
        --model_params <packed JSON> --seed 0

(the config's `model` section: model_spec.py) with the data in SM_CHANNEL_TRAIN and
SM_CHANNEL_VALIDATION. Everything in SM_MODEL_DIR becomes model.tar.gz: model.joblib,
metadata.json, code/ (inference.py, the serving handlers, and the two modules beside it)
and, for a user's entry point, its package as code/user_model/.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file (script mode): make the bundle root, which holds `pipelines/`, importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from pydantic import ValidationError  # noqa: E402

from pipelines.entrypoints.common import TRAINING_FAILURE_FILE, fail, log  # noqa: E402
from pipelines.model_spec import ALGORITHMS, VENDOR_PACKAGE, ModelSpec, unpack_params  # noqa: E402
from pipelines.schema import DatasetSchema  # noqa: E402
from pipelines.steps.tabular import read_typed  # noqa: E402
from pipelines.steps.train import fit_model, model_metadata, save_model  # noqa: E402

SCHEMA_FILE = "schema.json"
BUNDLE_ROOT = Path(__file__).resolve().parents[2]


def model_spec(algorithm: str, entry_point: str, packed_params: str) -> ModelSpec:
    """The config's model section again, checked by the same rules as at synth."""
    params = unpack_params(packed_params)
    if entry_point:
        prefix = f"{VENDOR_PACKAGE}."
        if not entry_point.startswith(prefix):
            raise ValueError(f"entry point {entry_point!r} is not in the {VENDOR_PACKAGE} package")
        # The spec wants the file's name; the folder it came from was vendored at synth.
        path = f"{VENDOR_PACKAGE}/{entry_point.removeprefix(prefix)}.py"
        return ModelSpec(entry_point=path, hyperparameters=params)
    return ModelSpec(algorithm=algorithm, hyperparameters=params)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", choices=ALGORITHMS, default="hist_gradient_boosting")
    parser.add_argument("--entry_point", default="")
    parser.add_argument("--model_params", default="")
    parser.add_argument("--seed", type=int, default=0)
    env = os.environ.get
    parser.add_argument(
        "--model-dir", type=Path, default=Path(env("SM_MODEL_DIR", "/opt/ml/model"))
    )
    parser.add_argument(
        "--train", type=Path, default=Path(env("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=Path(env("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
    )
    parser.add_argument("--failure-file", type=Path, default=Path(TRAINING_FAILURE_FILE))
    # The container may pass hyperparameters this script does not know (e.g. added later).
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        log(f"ignoring unknown arguments: {unknown}")

    started = time.perf_counter()
    try:
        spec = model_spec(args.algorithm, args.entry_point, args.model_params)
        schema = DatasetSchema.model_validate_json((args.train / SCHEMA_FILE).read_text("utf-8"))
        train = read_typed(args.train, schema)
        validation = read_typed(args.validation, schema) if args.validation.exists() else None
        estimator = fit_model(train, schema, spec, validation=validation, seed=args.seed)
    except ValidationError as exc:
        fail(f"training failed: invalid model settings: {exc}", args.failure_file)
    except (OSError, ValueError) as exc:
        fail(f"training failed: {type(exc).__name__}: {exc}", args.failure_file)
    features = [f.name for f in schema.features]
    if validation is not None and len(validation) and hasattr(estimator, "score"):
        score = estimator.score(validation[features], validation[schema.target])
        name = "accuracy" if schema.problem_type == "classification" else "r2"
        # A line the training job's metric definitions can pick up from the log.
        log(f"validation_{name}={score:.6f}")
    try:
        save_model(
            estimator,
            model_metadata(schema, spec, train, seed=args.seed),
            args.model_dir,
            vendored=BUNDLE_ROOT / VENDOR_PACKAGE,
        )
    except (OSError, ValueError) as exc:  # e.g. an estimator that cannot be pickled
        fail(f"saving the model failed: {type(exc).__name__}: {exc}", args.failure_file)
    what = spec.module_name or spec.algorithm
    log(f"trained {what} on {len(train)} rows in {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
