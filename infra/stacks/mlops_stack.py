"""The whole loop in one stack: it composes the constructs and grants each part what it needs."""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.alarms import (
    DriftAlarms,
    EndpointAlarms,
    Notifications,
    OperationsAlarms,
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
from infra.constructs.nag import acknowledge, resources
from infra.constructs.state import StateTable
from infra.constructs.training import ModelRegistry, SageMakerExecutionRole, SageMakerPipeline
from infra.pipeline_definitions import PipelineArtifacts

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
        registry = ModelRegistry(
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
        # Data capture is written by SageMaker, under the endpoint's execution role.
        storage.data_bucket.grant_put(sagemaker_role.role, f"{CAPTURE_PREFIX}*")

        code_bundle = pipelines.code_bundle_asset(self, "PipelineCode")
        code_bundle.grant_read(sagemaker_role.role)
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
        endpoint_alarms = EndpointAlarms(
            self,
            "EndpointAlarms",
            names=names,
            endpoint_name=names.endpoint,
            variant_name=VARIANT_NAME,
            max_5xx_per_minute=config.deployment.max_5xx_per_minute,
            latency_p99_ms=config.deployment.latency_p99_ms,
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
                "IDEMPOTENCY_TTL_SECONDS": str(24 * 3600),
            },
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
                "SAGEMAKER_ROLE_ARN": sagemaker_role.role.role_arn,
                "INFERENCE_INSTANCE_TYPE": config.compute.inference_instance_type,
                "INFERENCE_INSTANCE_COUNT": str(config.compute.inference_instance_count),
                # SageMaker appends <endpoint>/<variant>/yyyy/mm/dd/hh/ to this prefix.
                "CAPTURE_S3_URI": storage.data_bucket.s3_url_for_object(CAPTURE_PREFIX.rstrip("/")),
                "CAPTURE_SAMPLING_PERCENT": str(config.deployment.capture_sampling_percent),
                "CAPTURE_KMS_KEY_ARN": storage.key.key_arn,
                "CANARY_PERCENT": str(config.deployment.canary_percent),
                "CANARY_WAIT_SECONDS": str(config.deployment.canary_wait_minutes * 60),
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

        # Grants: each function gets the table, the topic, and only the actions it calls.
        for fn in functions.values():
            state.table.grant_read_write_data(fn)
            notifications.topic.grant_publish(fn)
        storage.data_bucket.grant_read(data_arrival.function, f"{INCOMING_PREFIX}*")
        storage.data_bucket.grant_put(data_arrival.function, f"{QUARANTINE_PREFIX}*")
        # A rejected object gets a delete marker under incoming/ (its version is kept).
        storage.data_bucket.grant_delete(data_arrival.function, f"{INCOMING_PREFIX}*")
        for fn in (data_arrival.function, pipeline_events.function, drift_retrain.function):
            storage.artifacts_bucket.grant_read_write(fn, "manifests/*")
        storage.artifacts_bucket.grant_read_write(deploy.function, "live/*")
        storage.artifacts_bucket.grant_read(pipeline_events.function, "pipelines/*")

        training_execution_arn = f"{training.pipeline_arn}/execution/*"
        start_training = iam.PolicyStatement(
            actions=["sagemaker:StartPipelineExecution", "sagemaker:DescribePipelineExecution"],
            resources=[training.pipeline_arn, training_execution_arn],
        )
        for fn in (data_arrival.function, pipeline_events.function, drift_retrain.function):
            fn.add_to_role_policy(start_training)
        read_registry = iam.PolicyStatement(
            actions=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
            resources=[
                registry.group_arn,
                f"{_sagemaker_arn(self, 'model-package')}/{names.model_group}/*",
            ],
        )
        pipeline_events.function.add_to_role_policy(read_registry)
        pipeline_events.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:ListPipelineExecutionSteps"],
                resources=[training_execution_arn],
            )
        )
        deploy.function.add_to_role_policy(read_registry)
        deploy.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[
                    f"{_sagemaker_arn(self, 'model')}/{names.endpoint}-*",
                    f"{_sagemaker_arn(self, 'endpoint-config')}/{names.endpoint}-*",
                    f"{_sagemaker_arn(self, 'endpoint')}/{names.endpoint}",
                ],
            )
        )
        sagemaker_role.role.grant_pass_role(deploy.function)
        self._acknowledge_scoped_wildcards(
            storage=storage,
            names=names,
            code_bundle=code_bundle,
            sagemaker_role=sagemaker_role,
            data_arrival=data_arrival,
            pipeline_events=pipeline_events,
            deploy=deploy,
            drift_retrain=drift_retrain,
            training_execution_arn=training_execution_arn,
        )

        rules = LoopRules(
            self,
            "Rules",
            names=names,
            targets_=LoopTargets(**functions),
            data_bucket_name=storage.data_bucket.bucket_name,
            incoming_prefix=INCOMING_PREFIX,
            training_pipeline_arn=training.pipeline_arn,
            monitoring_pipeline_arn=monitoring.pipeline_arn,
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
        notify([*drift_alarms.all, *endpoint_alarms.all, *operations.all], notifications.topic)
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

    def _acknowledge_scoped_wildcards(
        self,
        *,
        storage,
        names,
        code_bundle,
        sagemaker_role,
        data_arrival,
        pipeline_events,
        deploy,
        drift_retrain,
        training_execution_arn,
    ) -> None:
        """The wildcards of the grants above, each a prefix of keys or ids AWS assigns."""
        data, artifacts = storage.data_bucket, storage.artifacts_bucket
        model_packages = f"{_sagemaker_arn(self, 'model-package')}/{names.model_group}/*"
        acknowledge(
            sagemaker_role.role,
            "AwsSolutions-IAM5",
            "The pipeline code is a CDK asset: its object key is a content hash.",
            resources(self, code_bundle.bucket.arn_for_objects("*")),
        )
        reason = (
            "Object keys under one prefix of this stack's buckets, pipeline executions of the "
            "training pipeline, versions of this model package group, and models/endpoint "
            "configs named after this endpoint: ids and keys that are only known at run time."
        )
        scoped = {
            data_arrival: (
                data.arn_for_objects(f"{INCOMING_PREFIX}*"),
                data.arn_for_objects(f"{QUARANTINE_PREFIX}*"),
                artifacts.arn_for_objects("manifests/*"),
                training_execution_arn,
            ),
            pipeline_events: (
                artifacts.arn_for_objects("manifests/*"),
                artifacts.arn_for_objects("pipelines/*"),
                training_execution_arn,
                model_packages,
            ),
            drift_retrain: (artifacts.arn_for_objects("manifests/*"), training_execution_arn),
            deploy: (
                artifacts.arn_for_objects("live/*"),
                model_packages,
                f"{_sagemaker_arn(self, 'model')}/{names.endpoint}-*",
                f"{_sagemaker_arn(self, 'endpoint-config')}/{names.endpoint}-*",
            ),
        }
        for function, arns in scoped.items():
            acknowledge(function, "AwsSolutions-IAM5", reason, resources(self, *arns))


def _sagemaker_arn(stack: Stack, resource_type: str) -> str:
    return f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:{resource_type}"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
