"""What one config produces for the other parts, one function each: the pipeline settings and
each function's settings (its Lambda environment is `settings.to_env()`).

The stack, `python -m pipelines.*`, the snapshot tests, the integration fixtures and the cold-start
benchmark all call these; nothing else maps config keys onto the parts. A new setting is one
field in `infra/config.py`, one in the part's model, and one line here. No CDK import: the
pipeline command line and the tests use this module without starting jsii.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from functions.shared import settings as fn
from infra.config import StackConfig
from infra.names import CAPTURE_PREFIX, GROUND_TRUTH_PREFIX, INCOMING_PREFIX, QUARANTINE_PREFIX
from pipelines.settings import MonitoringPipelineSettings, TrainingPipelineSettings

# Powertools' idempotency records of one arrival live this long (docs/contracts.md, state table).
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True, kw_only=True)
class Deployed:
    """The values only a deployment knows: CDK tokens in the stack, literal names in tests."""

    data_bucket: str
    artifacts_bucket: str
    state_table: str
    topic_arn: str
    key_arn: str


def training_pipeline_settings(config: StackConfig) -> TrainingPipelineSettings:
    compute = config.compute
    return TrainingPipelineSettings(
        pipeline_name=config.names.training_pipeline,
        dataset=config.dataset,
        metric_name=config.metric.name,
        metric_threshold=config.metric.threshold,
        tolerance=config.metric.tolerance,
        approval_status="Approved"
        if config.approval_mode == "automatic"
        else "PendingManualApproval",
        processing_instance_type=compute.processing_instance_type,
        processing_instance_count=compute.processing_instance_count,
        training_instance_type=compute.training_instance_type,
        training_instance_count=compute.training_instance_count,
        # The one type the deploy function creates endpoints on.
        inference_instance_types=(compute.inference_instance_type,),
        default_threshold=config.drift.default_threshold,
        model=config.model,
        metric_gate=config.metric.gate,
        metric_confidence=config.metric.confidence,
        max_decompression_ratio=config.data.max_decompression_ratio,
        max_uncompressed_mb=config.data.max_uncompressed_mb,
        quarantine_prefix=QUARANTINE_PREFIX,
    )


def monitoring_pipeline_settings(config: StackConfig) -> MonitoringPipelineSettings:
    return MonitoringPipelineSettings(
        pipeline_name=config.names.monitoring_pipeline,
        dataset=config.dataset,
        processing_instance_type=config.compute.processing_instance_type,
        processing_instance_count=config.compute.processing_instance_count,
        default_threshold=config.drift.default_threshold,
        drift_confidence=config.drift.confidence,
        min_window_rows=config.drift.min_window_rows,
        capture_prefix=CAPTURE_PREFIX,
        ground_truth_prefix=GROUND_TRUTH_PREFIX,
        model_quality_metric=config.model_quality_metric,
        lookback_hours=config.model_quality.lookback_hours,
        min_labelled_rows=config.model_quality.min_labelled_rows,
        data_quality_min_rows=config.data_quality.min_rows,
    )


def _common(config: StackConfig, deployed: Deployed, function: str) -> dict[str, Any]:
    return {
        "powertools_service_name": function,
        "powertools_metrics_namespace": config.names.functions_namespace,
        "state_table": deployed.state_table,
        "topic_arn": deployed.topic_arn,
        "artifacts_bucket": deployed.artifacts_bucket,
    }


def _training(config: StackConfig, deployed: Deployed, function: str) -> dict[str, Any]:
    return {
        **_common(config, deployed, function),
        "training_pipeline_name": config.names.training_pipeline,
        "data_bucket": deployed.data_bucket,
        "incoming_prefix": INCOMING_PREFIX,
    }


def data_arrival_settings(config: StackConfig, deployed: Deployed) -> fn.DataArrivalSettings:
    return fn.DataArrivalSettings(
        **_training(config, deployed, "data_arrival"),
        quarantine_prefix=QUARANTINE_PREFIX,
        schema_columns=config.dataset.columns,
        allowed_extensions=config.data.allowed_extensions,
        allow_gzip=config.data.allow_gzip,
        max_object_bytes=config.data.max_object_mb * 1024 * 1024,
        max_uncompressed_bytes=config.data.max_uncompressed_mb * 1024 * 1024,
        max_decompression_ratio=config.data.max_decompression_ratio,
        idempotency_ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
    )


def pipeline_events_settings(config: StackConfig, deployed: Deployed) -> fn.PipelineEventsSettings:
    return fn.PipelineEventsSettings(
        **_training(config, deployed, "pipeline_events"),
        model_package_group_name=config.names.model_group,
    )


def deploy_settings(
    config: StackConfig,
    deployed: Deployed,
    *,
    model_role_arn: str,
    rollback_alarm_names: Sequence[str],
) -> fn.DeploySettings:
    deployment = config.deployment
    return fn.DeploySettings(
        **_common(config, deployed, "deploy"),
        model_package_group_name=config.names.model_group,
        endpoint_name=config.names.endpoint,
        model_role_arn=model_role_arn,
        inference_instance_type=config.compute.inference_instance_type,
        inference_instance_count=config.compute.inference_instance_count,
        # SageMaker appends <endpoint>/<variant>/yyyy/mm/dd/hh/ to this prefix.
        capture_s3_uri=f"s3://{deployed.data_bucket}/{CAPTURE_PREFIX.rstrip('/')}",
        capture_sampling_percent=deployment.capture_sampling_percent,
        capture_kms_key_arn=deployed.key_arn,
        canary_percent=deployment.canary_percent,
        canary_wait_seconds=deployment.canary_wait_minutes * 60,
        rollback_alarm_names=rollback_alarm_names,
        monitoring_pipeline_name=config.names.monitoring_pipeline,
    )


@dataclass(frozen=True)
class EndpointFolders:
    """The endpoint's folders of the data bucket that a retrain reads with
    retrain.labelled_traffic: SageMaker's capture, and the labels users upload."""

    capture: str
    ground_truth: str


def endpoint_folders(config: StackConfig) -> EndpointFolders:
    endpoint = config.names.endpoint
    return EndpointFolders(
        capture=f"{CAPTURE_PREFIX}{endpoint}/", ground_truth=f"{GROUND_TRUTH_PREFIX}{endpoint}/"
    )


def labelled_traffic_folders(config: StackConfig) -> EndpointFolders | None:
    """The folders drift_retrain lists and Validate reads by version when
    retrain.labelled_traffic is on (the grants of both roles); None when it is off."""
    return endpoint_folders(config) if config.retrain.labelled_traffic.enabled else None


def drift_retrain_settings(config: StackConfig, deployed: Deployed) -> fn.DriftRetrainSettings:
    labelled = config.retrain.labelled_traffic
    folders = endpoint_folders(config)
    return fn.DriftRetrainSettings(
        **_training(config, deployed, "drift_retrain"),
        drift_alarm_names=config.drift_alarm_names,
        retrain_cooldown_seconds=int(config.retrain.cooldown_hours * 3600),
        retrain_daily_cap=config.retrain.daily_cap,
        labelled_traffic_days=labelled.days if labelled.enabled else 0,
        labelled_capture_prefix=folders.capture,
        labelled_ground_truth_prefix=folders.ground_truth,
    )


# The settings model each function's handler reads (`settings_for(<model>)`).
FUNCTION_MODELS: dict[str, type[fn.FunctionSettings]] = {
    "data_arrival": fn.DataArrivalSettings,
    "pipeline_events": fn.PipelineEventsSettings,
    "deploy": fn.DeploySettings,
    "drift_retrain": fn.DriftRetrainSettings,
}


def settings_in_account(
    config: StackConfig, *, account: str, region: str
) -> dict[str, fn.FunctionSettings]:
    """Every function's settings as CloudFormation would resolve them in `account` and `region`:
    the moto fixtures and the cold-start benchmark create exactly these resources."""
    names = config.names
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    deployed = Deployed(
        data_bucket=names.bucket("data", account, region),
        artifacts_bucket=names.bucket("artifacts", account, region),
        state_table=names.state_table,
        topic_arn=arn.format("sns", names.topic),
        key_arn=arn.format("kms", "key/00000000-0000-4000-8000-000000000000"),
    )
    return {
        "data_arrival": data_arrival_settings(config, deployed),
        "pipeline_events": pipeline_events_settings(config, deployed),
        "deploy": deploy_settings(
            config,
            deployed,
            model_role_arn=f"arn:aws:iam::{account}:role/{names.model_role}",
            rollback_alarm_names=names.rollback_alarms,
        ),
        "drift_retrain": drift_retrain_settings(config, deployed),
    }
