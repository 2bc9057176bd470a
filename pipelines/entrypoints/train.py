"""Train: fit the model on the train channel and save it where SageMaker packs model.tar.gz.

Run by the SageMaker scikit-learn training container in script mode: the training job's
hyperparameters `sagemaker_submit_directory` (the code bundle, unpacked to /opt/ml/code) and
`sagemaker_program` (`pipelines/entrypoints/train.py`) make the container run

    python pipelines/entrypoints/train.py --algorithm hist_gradient_boosting --max_iter 200 ...

with the other hyperparameters as `--name value` and the data in SM_CHANNEL_TRAIN and
SM_CHANNEL_VALIDATION. Everything in SM_MODEL_DIR becomes model.tar.gz: model.joblib,
metadata.json and code/ (inference.py, the serving handlers, and the two modules beside it).
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

from pipelines.entrypoints.common import TRAINING_FAILURE_FILE, fail, log  # noqa: E402
from pipelines.schema import DatasetSchema  # noqa: E402
from pipelines.steps.tabular import read_typed  # noqa: E402
from pipelines.steps.train import ALGORITHMS, TrainParams, fit_model, model_metadata, save_model  # noqa: E402

SCHEMA_FILE = "schema.json"


def _optional_int(text: str) -> int | None:
    return None if text.strip().lower() in ("", "none", "null") else int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", choices=ALGORITHMS, default="hist_gradient_boosting")
    parser.add_argument("--max_iter", type=int, default=200)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--max_depth", type=_optional_int, default=None)
    parser.add_argument("--n_estimators", type=int, default=200)
    parser.add_argument("--l2", type=float, default=1.0)
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
        schema = DatasetSchema.model_validate_json((args.train / SCHEMA_FILE).read_text("utf-8"))
        params = TrainParams(
            algorithm=args.algorithm,
            max_iter=args.max_iter,
            learning_rate=args.learning_rate,
            max_depth=args.max_depth,
            n_estimators=args.n_estimators,
            l2=args.l2,
            seed=args.seed,
        )
        train = read_typed(args.train, schema)
        estimator = fit_model(train, schema, params)
    except (OSError, ValueError) as exc:
        fail(f"training failed: {type(exc).__name__}: {exc}", args.failure_file)
    features = [f.name for f in schema.features]
    if args.validation.exists():
        validation = read_typed(args.validation, schema)
        score = estimator.score(validation[features], validation[schema.target])
        name = "accuracy" if schema.problem_type == "classification" else "r2"
        # A line the training job's metric definitions can pick up from the log.
        log(f"validation_{name}={score:.6f}")
    save_model(estimator, model_metadata(schema, params, train), args.model_dir)
    log(f"trained {params.algorithm} on {len(train)} rows in {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
