"""`mlops status` and `mlops runs` against a (mocked) AWS account, from wherever they are run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config/dev.json"
ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
PIPELINE = "mlops-dev-training"
DEFINITION = {"Version": "2020-12-01", "Parameters": [], "Steps": []}


@pytest.fixture
def aws(moto_credentials):
    with mock_aws():
        s3, sm = boto3.client("s3"), boto3.client("sagemaker")
        s3.create_bucket(Bucket=ARTIFACTS)
        sm.create_model_package_group(ModelPackageGroupName="mlops-dev-models")
        sm.create_pipeline(
            PipelineName=PIPELINE,
            PipelineDefinition=json.dumps(DEFINITION),
            RoleArn="arn:aws:iam::123456789012:role/mlops-dev-sagemaker",
        )
        yield s3, sm


def _start(
    s3, sm, trigger: str | None, objects: int | None, labelled: tuple[int, int] | None = None
) -> str:
    """A run started the way functions/shared/runs.py starts one; `objects` None: no manifest;
    `labelled`: the capture and ground-truth objects of its labelled traffic."""
    params = []
    if trigger is not None:
        params.append({"Name": "TriggerEventType", "Value": trigger})
    if objects is not None:
        key = f"manifests/{trigger}-{objects}-{labelled}.json"
        manifest = {
            "trigger": {"event_id": "e", "event_type": trigger},
            "objects": [
                {"bucket": "d", "key": f"incoming/{i}.csv", "version_id": "v", "size": 1}
                for i in range(objects)
            ],
        }
        if labelled is not None:
            manifest["labelled_traffic"] = {
                folder: [
                    {"bucket": "d", "key": f"{folder}/e/{i}.jsonl", "version_id": "v"}
                    for i in range(count)
                ]
                for folder, count in zip(("capture", "ground_truth"), labelled, strict=True)
            }
        s3.put_object(Bucket=ARTIFACTS, Key=key, Body=json.dumps(manifest))
        params.append({"Name": "DataManifestUri", "Value": f"s3://{ARTIFACTS}/{key}"})
    arn = sm.start_pipeline_execution(PipelineName=PIPELINE, PipelineParameters=params)
    return arn["PipelineExecutionArn"].rsplit("/", 1)[-1]


def test_outside_a_project_without_config_is_a_clear_error(aws, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no stack to talk to: ")
    assert f"{tmp_path} is not in a project folder" in err and "config/dev.json" in err
    assert "pass --config" in err and "Traceback" not in err
    assert main(["status", "--config", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: config file not found" in capsys.readouterr().err


def test_status_finds_the_project_config_from_any_folder_inside_it(
    aws, tmp_path, monkeypatch, capsys
):
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    shutil.copy(CONFIG, project / "config/dev.json")
    (project / "cdk.json").write_text("{}")
    (project / "data" / "raw").mkdir(parents=True)
    monkeypatch.chdir(project / "data" / "raw")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"names from {project / 'config/dev.json'}" in out
    assert f"Training runs ({PIPELINE})" in out
    monkeypatch.chdir(tmp_path)  # outside it, the config named
    assert main(["status", "--config", str(CONFIG)]) == 0


def test_status_lists_runs_newest_first(aws, capsys):
    s3, sm = aws
    started = [_start(s3, sm, "s3:ObjectCreated", 1) for _ in range(3)]
    assert main(["status", "--config", str(CONFIG)]) == 0
    out = capsys.readouterr().out
    positions = [out.index(execution) for execution in started]
    assert positions == sorted(positions, reverse=True), out


def test_only_drift_alarms_truly_in_alarm_are_shown(aws, capsys):
    cloudwatch = boto3.client("cloudwatch")
    alarms = {
        "mlops-dev-drift-score": "ALARM",
        "mlops-dev-drift-tenure_months": "OK",
        "mlops-dev-drift-region": "INSUFFICIENT_DATA",
        "mlops-dev-drift-age": "ALARM",
        # Shares the drift alarms' prefix but is the drift_retrain function's errors alarm.
        "mlops-dev-drift-retrain-errors": "ALARM",
    }
    for name, state in alarms.items():
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="mlops-dev/Drift",
            MetricName=name,
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=0.1,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
    assert main(["status", "--config", str(CONFIG)]) == 0
    out = capsys.readouterr().out
    assert (
        "Drift alarms in ALARM: mlops-dev-drift-age (feature 'age'), mlops-dev-drift-score\n" in out
    )


def test_runs_show_trigger_manifest_size_and_outcome(aws, capsys):
    s3, sm = aws
    arrival = _start(s3, sm, "s3:ObjectCreated", 3)
    drift = _start(s3, sm, "cloudwatch:AlarmStateChange", 0)
    by_hand = _start(s3, sm, None, None)
    assert main(["runs", "--config", str(CONFIG), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    shown = [
        (r["execution_arn"].rsplit("/", 1)[-1], r["trigger"], r["manifest_objects"])
        for r in records
    ]
    assert shown == [
        (by_hand, "-", None),
        (drift, "cloudwatch:AlarmStateChange", 0),
        (arrival, "s3:ObjectCreated", 3),
    ]
    assert {r["outcome"] for r in records} == {"Succeeded"}
    assert main(["runs", "--config", str(CONFIG), "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Training runs of {PIPELINE}, newest first:"
    assert lines[1].split() == [
        "started",
        "execution",
        "trigger",
        "objects",
        "capture+labels",
        "outcome",
    ]
    assert [line.split()[2:] for line in lines[2:]] == [
        [by_hand, "-", "-", "-", "Succeeded"],
        [drift, "cloudwatch:AlarmStateChange", "0", "-", "Succeeded"],
    ]


def test_runs_show_the_capture_and_label_objects_of_labelled_traffic(aws, capsys):
    s3, sm = aws
    quality = _start(s3, sm, "drift:alarm", 2, labelled=(5, 3))
    assert main(["runs", "--config", str(CONFIG), "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["execution_arn"].endswith(quality)
    assert record["manifest_objects"] == 2
    assert record["labelled_traffic"] == {"capture_objects": 5, "ground_truth_objects": 3}
    assert main(["runs", "--config", str(CONFIG)]) == 0
    [line] = capsys.readouterr().out.splitlines()[2:]
    assert line.split()[2:] == [quality, "drift:alarm", "2", "5+3", "Succeeded"]
