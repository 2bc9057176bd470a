"""The monitoring pipeline: one processing step, the checks of a capture window.

Run on a schedule (hourly by default). The step reads the window's capture files, the live
model's baseline and the ground-truth labels itself (see pipelines.entrypoints.monitor); its
declared output is the report folder, uploaded under
`s3://${ArtifactsBucket}/monitoring/${EndpointName}/<window end>/`, with the endpoint's
history page at `monitoring/${EndpointName}/history.html`, built from the reports
of the last `HistoryWindows` windows, which the step reads from that same prefix.
"""

from __future__ import annotations

from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.mlops.workflow.pipeline import Pipeline

from pipelines import sdk
from pipelines.entrypoints.common import pack_json, pack_schema
from pipelines.settings import MonitoringPipelineSettings

PLACEHOLDERS = (
    "PipelineRoleArn",
    "CodeBundleUri",
    "SklearnImageUri",
    "DataBucket",
    "ArtifactsBucket",
    "EndpointName",
    "MetricsNamespace",
    "KmsKeyArn",
    "AWS::Region",
)
REPORT_DIR = "/opt/ml/processing/output/report"
REPORTS_URI = "s3://${ArtifactsBucket}/monitoring/${EndpointName}"
HISTORY_WINDOWS = 48


def build_pipeline(settings: MonitoringPipelineSettings) -> Pipeline:
    session = sdk.offline_session()
    window = ParameterInteger("WindowMinutes", settings.capture_window_minutes)
    window_end = ParameterString("WindowEnd", "")  # empty: the run's start, to the minute
    proc_type = ParameterString("ProcessingInstanceType", settings.processing_instance_type)
    proc_count = ParameterInteger("ProcessingInstanceCount", settings.processing_instance_count)
    history = ParameterInteger("HistoryWindows", HISTORY_WINDOWS)
    args = [
        "--schema", *pack_schema(settings.dataset),
        "--default-threshold", repr(settings.default_threshold),
        "--confidence", repr(settings.drift_confidence),
        "--min-window-rows", str(settings.min_window_rows),
        "--endpoint-name", "${EndpointName}",
        "--capture-uri", f"s3://${{DataBucket}}/{settings.capture_prefix}${{EndpointName}}/",
        "--live-record-uri", "s3://${ArtifactsBucket}/live/${EndpointName}.json",
        "--namespace", "${MetricsNamespace}",
        "--window-minutes", window.to_string(),
        "--window-end", window_end,
        "--output", REPORT_DIR,
        "--history-uri", f"{REPORTS_URI}/",
        "--history-windows", history.to_string(),
        "--data-quality-min-rows", str(settings.data_quality_min_rows),
    ]  # fmt: skip
    if settings.model_quality_metric:
        args += [
            "--ground-truth-uri",
            f"s3://${{DataBucket}}/{settings.ground_truth_prefix}${{EndpointName}}/",
            "--metric", settings.model_quality_metric,
            "--lookback-hours", str(settings.lookback_hours),
            "--min-labelled-rows", str(settings.min_labelled_rows),
        ]  # fmt: skip
    if settings.drift_thresholds:
        args += ["--thresholds", *pack_json(settings.drift_thresholds)]
    report = ProcessingOutput(
        output_name="report",
        s3_output=ProcessingS3Output(
            s3_uri=REPORTS_URI,
            local_path=REPORT_DIR,
            s3_upload_mode="EndOfJob",
        ),
    )
    step = sdk.processing_step(
        session,
        "DriftCheck",
        "monitor",
        instance_type=proc_type,
        instance_count=proc_count,
        volume_kms_key=sdk.volume_kms_key(settings.processing_instance_type),
        inputs=[],
        outputs=[report],
        args=args,
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=[window, window_end, proc_type, proc_count, history],
        steps=[step],
        sagemaker_session=session,
        pipeline_experiment_config=None,
    )


def build_monitoring_definition(settings: MonitoringPipelineSettings) -> str:
    with sdk.quiet_sdk():
        definition = sdk.canonical(build_pipeline(settings).definition())
    sdk.check_placeholders(definition, PLACEHOLDERS)
    return definition
