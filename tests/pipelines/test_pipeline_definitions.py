"""Both definitions: built offline (no socket opened, no credentials), identical on every build,
equal to the reviewed snapshots, which are the definitions the synthesized stack deploys.
UPDATE_SNAPSHOTS=1 rewrites the snapshots."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"

# Runs in a fresh interpreter so the socket guard is in place before sagemaker is imported.
_BUILD = r"""
import json, socket, sys
attempts = []
def refuse(self, address, *a, **k):
    attempts.append(repr(address))
    raise ConnectionRefusedError("network blocked by test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from pathlib import Path
from infra.config import load_config
from infra.contracts import monitoring_pipeline_settings, training_pipeline_settings
from pipelines import monitoring, sdk, training
config = load_config(Path(sys.argv[1]))
t = [training.build_training_definition(training_pipeline_settings(config)) for _ in range(2)]
m = [monitoring.build_monitoring_definition(monitoring_pipeline_settings(config))
     for _ in range(2)]
json.dump({"training": t, "monitoring": m, "attempts": attempts,
           "bootstrap": sdk.PROCESSING_BOOTSTRAP,
           "placeholders": {"training": training.PLACEHOLDERS,
                            "monitoring": monitoring.PLACEHOLDERS}}, sys.stdout)
"""


@pytest.fixture(scope="module")
def built() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PYTHONPATH=str(ROOT),
        HOME="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _BUILD, str(ROOT / "config" / "dev.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_no_network_and_identical_builds(built):
    assert built["attempts"] == []
    for name in ("training", "monitoring"):
        first, second = built[name]
        assert first == second


@pytest.mark.parametrize("name", ["training", "monitoring"])
def test_snapshot(built, name):
    pretty = json.dumps(json.loads(built[name][0]), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(pretty)
    assert pretty == path.read_text()


@pytest.mark.parametrize("name", ["training", "monitoring"])
def test_snapshot_is_the_definition_the_stack_deploys(synthesize, name):
    dev = synthesize("dev")
    wanted = (
        dev.config.names.training_pipeline
        if name == "training"
        else (dev.config.names.monitoring_pipeline)
    )
    (pipeline,) = [
        r["Properties"]
        for r in dev.resources("AWS::SageMaker::Pipeline").values()
        if r["Properties"]["PipelineName"] == wanted
    ]
    body, _ = pipeline["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    deployed = json.dumps(json.loads(body), indent=2, sort_keys=True) + "\n"
    assert deployed == (SNAPSHOTS / f"{name}.json").read_text()


@pytest.mark.parametrize("name", ["training", "monitoring"])
def test_only_declared_placeholders_and_container_limits(built, name):
    text = built[name][0]
    used = set(re.findall(r"\$\{([^}]*)\}", text))
    assert used == set(built["placeholders"][name])
    for step in json.loads(text)["Steps"]:
        app = step.get("Arguments", {}).get("AppSpecification")
        if app:
            assert app["ContainerArguments"][0].startswith("pipelines.entrypoints.")
            assert all(len(a) <= 256 for a in app["ContainerArguments"] if isinstance(a, str))
    assert len(built["bootstrap"]) <= 256


def test_training_shape(built):
    d = json.loads(built["training"][0])
    assert [p["Name"] for p in d["Parameters"]] == [
        "InputDataUri",
        "DataManifestUri",
        "TriggerEventId",
        "TriggerEventType",
        "ModelApprovalStatus",
        "MetricThreshold",
        "ProcessingInstanceType",
        "ProcessingInstanceCount",
        "TrainingInstanceType",
        "TrainingInstanceCount",
    ]
    steps = {s["Name"]: s for s in d["Steps"]}
    assert list(steps) == ["Validate", "Preprocess", "Train", "Evaluate", "Baseline", "CheckMetric"]
    # A prefix input would download the latest versions; Validate reads the manifest's itself.
    validate_inputs = steps["Validate"]["Arguments"]["ProcessingInputs"]
    assert [i["InputName"] for i in validate_inputs] == ["code"]
    hp = steps["Train"]["Arguments"]["HyperParameters"]
    assert hp["sagemaker_program"] == "pipelines/entrypoints/train.py"
    assert hp["sagemaker_submit_directory"] == "${CodeBundleUri}"
    register = steps["CheckMetric"]["Arguments"]["IfSteps"][0]["Arguments"]
    assert set(register["CustomerMetadataProperties"]) == {
        "InputDataUri",
        "DataManifestUri",
        "DataObjectsUri",
        "TriggerEventId",
        "TriggerEventType",
        "PipelineExecutionArn",
        "CodeVersion",
        "BaselineUri",
        "EvaluationUri",
        "MetricName",
        "MetricValue",
        "MetricSampleSize",
        "MetricLowerBound",
        "MetricUpperBound",
        "MetricConfidence",
        "MetricGate",
    }
    assert register["ModelPackageGroupName"] == "${ModelPackageGroupName}"
