"""The whole loop in one stack: it composes the constructs and grants each part what it needs."""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig
from infra.constructs import access
from infra.constructs.alarms import (
    DriftAlarms,
    EndpointAlarms,
    Notifications,
    OperationsAlarms,
    QualityAlarms,
    notify,
)
from infra.constructs.dashboard import LoopDashboard
from infra.constructs.data_storage import (
    CAPTURE_PREFIX,
    INCOMING_PREFIX,
    QUARANTINE_PREFIX,
    DataStorage,
)
from infra.constructs.event_rules import LoopRules, LoopTargets
from infra.constructs.functions import FailureQueue, LoopFunction
from infra.constructs.serving import ModelExecutionRole
from infra.constructs.state import StateTable
from infra.constructs.training import ModelRegistry, SageMakerExecutionRole, SageMakerPipeline
from infra.pipeline_definitions import PipelineArtifacts
from infra.stacks.grants import LoopAccess

VARIANT_NAME = "AllTraffic"


class MlopsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        pipelines: PipelineArtifacts,
        lambda_code: lambda_.Code,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.prefix
        names = config.names

        storage = DataStorage(
            self,
            "Storage",
            names=names,
            quarantine_expiry_days=config.data.quarantine_expiry_days,
            capture_expiry_days=config.data.capture_expiry_days,
        )
        state = StateTable(self, "State", names=names, key=storage.key)
        notifications = Notifications(
            self,
            "Notifications",
            names=names,
            key=storage.key,
            email=config.notification_email,
        )
        failures = FailureQueue(self, "Failures", names=names, key=storage.key)
        ModelRegistry(
            self,
            "Registry",
            group_name=names.model_group,
            description=f"{prefix}: models trained by the training pipeline, awaiting approval",
        )
        sagemaker_role = SageMakerExecutionRole(
            self,
            "SageMakerRole",
            names=names,
            data_bucket=storage.data_bucket,
            artifacts_bucket=storage.artifacts_bucket,
            key=storage.key,
            metrics_namespace=names.drift_namespace,
        )
        code_bundle = pipelines.code_bundle_asset(self, "PipelineCode")
        # Processing steps get the bundle as an input (ListBucket + GetObject on its key), the
        # training job as its submit directory.
        access.allow(
            sagemaker_role.role,
            access.objects(code_bundle.bucket, access.READ, code_bundle.s3_object_key),
            access.listing(code_bundle.bucket, code_bundle.s3_object_key),
        )
        substitutions = {
            "PipelineRoleArn": sagemaker_role.role.role_arn,
            "CodeBundleUri": code_bundle.s3_object_url,
            "CodeVersion": pipelines.code_version,
            "DataBucket": storage.data_bucket.bucket_name,
            "ArtifactsBucket": storage.artifacts_bucket.bucket_name,
            "ModelPackageGroupName": names.model_group,
            "SklearnImageUri": pipelines.sklearn_image_uri(self),
            "EndpointName": names.endpoint,
            "MetricsNamespace": names.drift_namespace,
            "KmsKeyArn": storage.key.key_arn,
        }
        training = SageMakerPipeline(
            self,
            "TrainingPipeline",
            pipeline_name=names.training_pipeline,
            description="Validate, preprocess, train, evaluate, baseline, gate and register",
            definition_body=pipelines.training_definition,
            substitutions=pipelines.pick(substitutions, pipelines.training_placeholders),
            role=sagemaker_role.role,
        )
        monitoring = SageMakerPipeline(
            self,
            "MonitoringPipeline",
            pipeline_name=names.monitoring_pipeline,
            description="Measure drift of captured traffic against the live model's baseline",
            definition_body=pipelines.monitoring_definition,
            substitutions=pipelines.pick(substitutions, pipelines.monitoring_placeholders),
            role=sagemaker_role.role,
        )
        for pipeline in (training, monitoring):
            pipeline.node.add_dependency(sagemaker_role.role)

        drift_alarms = DriftAlarms(
            self,
            "DriftAlarms",
            names=names,
            namespace=names.drift_namespace,
            endpoint_name=names.endpoint,
            feature_thresholds={
                f.name: f.drift_threshold or config.drift.default_threshold
                for f in config.dataset.features
            },
            score_threshold=config.drift.score_threshold,
            evaluation_periods=config.drift.evaluation_periods,
            period=Duration.hours(1),
        )
        quality_alarms = QualityAlarms(
            self,
            "QualityAlarms",
            names=names,
            namespace=names.drift_namespace,
            endpoint_name=names.endpoint,
            metric=config.model_quality_metric,
            threshold=config.model_quality_threshold,
            greater_is_better=config.model_quality_greater_is_better,
            evaluation_periods=config.model_quality.evaluation_periods,
            data_quality_threshold=config.data_quality.alarm_threshold,
            period=Duration.hours(1),
        )
        endpoint_alarms = EndpointAlarms(
            self,
            "EndpointAlarms",
            names=names,
            endpoint_name=names.endpoint,
            variant_name=VARIANT_NAME,
            max_5xx_per_minute=config.deployment.max_5xx_per_minute,
            latency_p99_ms=config.deployment.latency_p99_ms,
        )
        model_role = ModelExecutionRole(
            self,
            "ModelRole",
            names=names,
            data_bucket=storage.data_bucket,
            artifacts_bucket=storage.artifacts_bucket,
            key=storage.key,
            rollback_alarms=endpoint_alarms.all,
        )

        common_env = {
            "STATE_TABLE": state.table.table_name,
            "TOPIC_ARN": notifications.topic.topic_arn,
            "ARTIFACTS_BUCKET": storage.artifacts_bucket.bucket_name,
        }
        training_env = {
            "TRAINING_PIPELINE_NAME": names.training_pipeline,
            "DATA_BUCKET": storage.data_bucket.bucket_name,
            "INCOMING_PREFIX": INCOMING_PREFIX,
        }

        def function(name: str, description: str, env: dict[str, str], **kwargs) -> LoopFunction:
            return LoopFunction(
                self,
                _camel(name),
                names=names,
                name=name,
                description=description,
                code=lambda_code,
                environment={**common_env, **env},
                failure_queue=failures.queue,
                key=storage.key,
                # Off unless the config reserves it (a new account cannot): see FunctionsConfig.
                reserved_concurrency=config.functions.reserved.get(name),
                **kwargs,
            )

        data_arrival = function(
            "data_arrival",
            "Checks arriving data, quarantines bad files, starts training",
            {
                **training_env,
                "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
                "SCHEMA_COLUMNS": json.dumps(list(config.dataset.columns)),
                "ALLOWED_EXTENSIONS": json.dumps(list(config.data.allowed_extensions)),
                "ALLOW_GZIP": "true" if config.data.allow_gzip else "false",
                "MAX_OBJECT_BYTES": str(config.data.max_object_mb * 1024 * 1024),
                "MAX_UNCOMPRESSED_BYTES": str(config.data.max_uncompressed_mb * 1024 * 1024),
                "MAX_DECOMPRESSION_RATIO": str(config.data.max_decompression_ratio),
                "IDEMPOTENCY_TTL_SECONDS": str(24 * 3600),
            },
            # CPU comes with memory (about 0.6 vCPU at 1024 MB): a gzip object is decompressed
            # whole to count its true size, up to data.max_uncompressed_mb within the timeout.
            # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
            memory_size=1024,
        )
        pipeline_events = function(
            "pipeline_events",
            "Reacts to training runs ending: notify, release, follow up",
            {**training_env, "MODEL_PACKAGE_GROUP_NAME": names.model_group},
        )
        deploy = function(
            "deploy",
            "Deploys approved models with blue/green canaries; verifies the result",
            {
                "MODEL_PACKAGE_GROUP_NAME": names.model_group,
                "ENDPOINT_NAME": names.endpoint,
                "MODEL_ROLE_ARN": model_role.role.role_arn,
                "INFERENCE_INSTANCE_TYPE": config.compute.inference_instance_type,
                "INFERENCE_INSTANCE_COUNT": str(config.compute.inference_instance_count),
                # SageMaker appends <endpoint>/<variant>/yyyy/mm/dd/hh/ to this prefix.
                "CAPTURE_S3_URI": storage.data_bucket.s3_url_for_object(CAPTURE_PREFIX.rstrip("/")),
                "CAPTURE_SAMPLING_PERCENT": str(config.deployment.capture_sampling_percent),
                "CAPTURE_KMS_KEY_ARN": storage.key.key_arn,
                "CANARY_PERCENT": str(config.deployment.canary_percent),
                "CANARY_WAIT_SECONDS": str(config.deployment.canary_wait_minutes * 60),
                "MONITORING_PIPELINE_NAME": names.monitoring_pipeline,
                "ROLLBACK_ALARM_NAMES": json.dumps([a.alarm_name for a in endpoint_alarms.all]),
            },
            timeout=Duration.minutes(2),
        )
        drift_retrain = function(
            "drift_retrain",
            "Retrains on drift alarms and schedules, within cooldown and cap",
            {
                **training_env,
                "DRIFT_ALARM_NAMES": json.dumps(config.drift_alarm_names),
                "RETRAIN_COOLDOWN_SECONDS": str(int(config.retrain.cooldown_hours * 3600)),
                "RETRAIN_DAILY_CAP": str(config.retrain.daily_cap),
            },
        )
        functions = {
            "data_arrival": data_arrival.function,
            "pipeline_events": pipeline_events.function,
            "deploy": deploy.function,
            "drift_retrain": drift_retrain.function,
        }

        LoopAccess(
            names=names,
            storage=storage,
            table=state.table,
            topic=notifications.topic,
            training_pipeline_arn=training.pipeline_arn,
            monitoring_pipeline_arn=monitoring.pipeline_arn,
            model_role=model_role.role,
        ).grant(self, **functions)

        rules = LoopRules(
            self,
            "Rules",
            names=names,
            targets_=LoopTargets(**functions),
            data_bucket_name=storage.data_bucket.bucket_name,
            incoming_prefix=INCOMING_PREFIX,
            training_pipeline_arn=training.pipeline_arn,
            model_package_group_name=names.model_group,
            endpoint_name=names.endpoint,
            drift_alarm_names=config.drift_alarm_names,
            monitoring_schedule=config.drift.schedule,
            retrain_schedule=config.retrain.schedule,
            failure_queue=failures.queue,
        )
        rules.node.add_dependency(training.pipeline, monitoring.pipeline)

        operations = OperationsAlarms(
            self,
            "OperationsAlarms",
            names=names,
            functions=functions,
            failure_queue=failures.queue,
        )
        notify(
            [*drift_alarms.all, *quality_alarms.all, *endpoint_alarms.all, *operations.all],
            notifications.topic,
        )
        LoopDashboard(
            self,
            "Dashboard",
            names=names,
            training_pipeline_name=names.training_pipeline,
            drift_namespace=names.drift_namespace,
            endpoint_name=names.endpoint,
            variant_name=VARIANT_NAME,
            features=[f.name for f in config.dataset.features],
            functions=functions,
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
