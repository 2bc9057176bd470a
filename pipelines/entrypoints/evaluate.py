"""Evaluate: metrics of the trained model on the test split, the file the Condition reads.

    python -m pipelines.entrypoints.evaluate --schema <parts> --metric roc_auc --threshold 0.7
        --tolerance 0.02 [--gate point|lower_bound] [--confidence 0.95]
        [--live-record-uri s3://<artifacts>/live/<endpoint>.json]
        [--model DIR] [--test DIR] [--output DIR] [--message-file FILE]

The model is loaded through the serving handlers (inference.model_fn / predict_fn) from the
training job's model.tar.gz, so a model that cannot serve fails here, before registration.

The live model is the one the live record (written by the deploy Lambda) names; no record (or an
empty URI) means this is the first model. Its artifact is scored on this run's test split, so
both models are judged on the same rows: after the data or its labels changed (a retrain on
concept drift), the live model's registered metric, from its own test rows of back then, is no
longer what it achieves, and comparing with it would refuse every retrain that the change made
necessary. When the artifact cannot be read or scored (gone, or a schema the live model does not
take), the registered metric is used and the evaluation says why. Writes
`--output/evaluation.json`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from pipelines.entrypoints.common import (
    PROCESSING_MESSAGE_FILE,
    add_schema_argument,
    fail,
    log,
    read_s3_text,
    s3_client,
    split_s3_uri,
    unpack_model,
    unpack_schema,
    write_json,
)
from pipelines.steps import inference
from pipelines.steps.condition import GATES
from pipelines.steps.evaluate import evaluate_model, metric_on
from pipelines.steps.tabular import read_typed

EVALUATION_FILE = "evaluation.json"


def live_metric(record_text: str | None, metric: str) -> float | None:
    """The live model's value of our metric, or None (no live model, or it used another metric)."""
    if not record_text:
        return None
    record = json.loads(record_text)
    if record.get("metric_name") != metric or record.get("metric_value") is None:
        log(f"live record has no {metric} value; treating this model as the first")
        return None
    return float(record["metric_value"])


def live_reference(
    record_text: str | None,
    test: Any,
    schema: Any,
    metric: str,
    scratch: Path,
) -> tuple[float | None, str]:
    """(the live model's metric on this test split, where the figure comes from)."""
    if not record_text:
        return None, "no live model"
    record = json.loads(record_text)
    url = record.get("model_data_url") or ""
    problem = "the live record names no artifact"
    if url.startswith("s3://"):
        try:
            bucket, key = split_s3_uri(url)
            archive = scratch / "live" / "model.tar.gz"
            archive.parent.mkdir(parents=True)
            s3_client().download_file(bucket, key, str(archive))
            live = inference.model_fn(str(unpack_model(archive, scratch / "live" / "model")))
            return metric_on(live, test, schema, metric), f"live model {url} on this test split"
        except Exception as exc:  # noqa: BLE001 - any failure falls back, and says so
            problem = f"the live model could not be scored: {type(exc).__name__}: {exc}"
    registered = live_metric(record_text, metric)
    log(f"{problem}; comparing with its registered {metric} ({registered})")
    return registered, f"registered metric ({problem})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_schema_argument(parser)
    parser.add_argument("--metric", required=True)
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--tolerance", type=float, default=0.0)
    parser.add_argument("--live-record-uri", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gate", choices=GATES, default="point")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--model", type=Path, default=Path("/opt/ml/processing/input/model"))
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/input/test"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output/evaluation"))
    parser.add_argument("--message-file", type=Path, default=Path(PROCESSING_MESSAGE_FILE))
    args = parser.parse_args(argv)

    schema = unpack_schema(args.schema)
    record_text = read_s3_text(args.live_record_uri) if args.live_record_uri else None
    with tempfile.TemporaryDirectory() as scratch:
        try:
            model = inference.model_fn(str(unpack_model(args.model, Path(scratch) / "new")))
            test = read_typed(args.test, schema)
            live_value, live_source = live_reference(
                record_text, test, schema, args.metric, Path(scratch)
            )
            result = evaluate_model(
                model,
                test,
                schema,
                metric=args.metric,
                threshold=args.threshold,
                tolerance=args.tolerance,
                live_value=live_value,
                seed=args.seed,
                gate=args.gate,
                confidence=args.confidence,
            )
        except (OSError, ValueError) as exc:
            fail(f"evaluation failed: {type(exc).__name__}: {exc}", args.message_file)
    result["objective"]["live_value_source"] = live_source
    write_json(args.output / EVALUATION_FILE, result)
    objective = result["objective"]
    interval = objective["confidence_interval"]
    log(
        f"{args.metric}={objective['value']:.4f} on {objective['sample_size']} rows "
        f"({objective['confidence']:.0%} interval {interval['lower']} to {interval['upper']}; "
        f"live {live_value}, {live_source}); "
        f"gate {'passed' if objective['passed'] else 'failed: ' + '; '.join(objective['reasons'])}"
    )


if __name__ == "__main__":
    main()
