"""Evaluate: metrics of the trained model on the test split, the file the Condition reads.

    python -m pipelines.entrypoints.evaluate --schema <parts> --metric roc_auc --threshold 0.7
        --tolerance 0.02 [--gate point|lower_bound] [--confidence 0.95]
        [--live-record-uri s3://<artifacts>/live/<endpoint>.json]
        [--model DIR] [--test DIR] [--output DIR] [--message-file FILE]

The model is loaded through the serving handlers (inference.model_fn / predict_fn) from the
training job's model.tar.gz, so a model that cannot serve fails here, before registration. The
live model's metric comes from the live record the deploy Lambda writes; no record (or an empty
URI) means this is the first model. Writes `--output/evaluation.json`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from pipelines.entrypoints.common import (
    PROCESSING_MESSAGE_FILE,
    add_schema_argument,
    fail,
    log,
    read_s3_text,
    unpack_model,
    unpack_schema,
    write_json,
)
from pipelines.steps import inference
from pipelines.steps.condition import GATES
from pipelines.steps.evaluate import evaluate_model
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
    live_value = live_metric(
        read_s3_text(args.live_record_uri) if args.live_record_uri else None, args.metric
    )
    with tempfile.TemporaryDirectory() as scratch:
        try:
            model = inference.model_fn(str(unpack_model(args.model, Path(scratch))))
            result = evaluate_model(
                model,
                read_typed(args.test, schema),
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
    write_json(args.output / EVALUATION_FILE, result)
    objective = result["objective"]
    interval = objective["confidence_interval"]
    log(
        f"{args.metric}={objective['value']:.4f} on {objective['sample_size']} rows "
        f"({objective['confidence']:.0%} interval {interval['lower']} to {interval['upper']}; "
        f"live {live_value}); "
        f"gate {'passed' if objective['passed'] else 'failed: ' + '; '.join(objective['reasons'])}"
    )


if __name__ == "__main__":
    main()
