"""The whole loop in one stack: it composes the parts (infra/components/) and wires one to the
next; each part creates its own resources, functions, grants and acknowledgments."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.component import KeepLogicalIds
from infra.components.deployment import VARIANT_NAME, Deployment
from infra.components.foundation import Foundation
from infra.components.intake import DataIntake
from infra.components.monitoring import Monitoring
from infra.components.notifications import Notifications
from infra.components.training import Training
from infra.config import StackConfig
from infra.constructs.dashboard import LoopDashboard
from infra.constructs.data_storage import DataStorage
from infra.constructs.event_rules import LoopRules, LoopTargets
from infra.constructs.functions import FailureQueue, FunctionPlatform
from infra.constructs.state import StateTable
from infra.names import INCOMING_PREFIX
from infra.pipeline_definitions import PipelineArtifacts


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
        names = config.names
        KeepLogicalIds.apply_to(self)

        storage = DataStorage(
            self,
            "Storage",
            names=names,
            quarantine_expiry_days=config.data.quarantine_expiry_days,
            capture_expiry_days=config.data.capture_expiry_days,
        )
        notifications = Notifications(
            self, "Alerting", names=names, key=storage.key, email=config.notification_email
        )
        failures = FailureQueue(self, "Failures", names=names, key=storage.key)
        base = Foundation(
            config=config,
            storage=storage,
            table=StateTable(self, "State", names=names, key=storage.key).table,
            topic=notifications.topic,
            platform=FunctionPlatform(
                names=names,
                code=lambda_code,
                failure_queue=failures.queue,
                key=storage.key,
                reserved=config.functions.reserved,
            ),
        )

        training = Training(self, "Training", base=base, pipelines=pipelines)
        intake = DataIntake(self, "Intake", base=base, training=training)
        monitoring = Monitoring(self, "Monitoring", base=base, training=training)
        deployment = Deployment(
            self, "Deployment", base=base, training=training, monitoring=monitoring
        )

        functions = {
            "data_arrival": intake.data_arrival.function,
            "pipeline_events": training.pipeline_events.function,
            "deploy": deployment.deploy.function,
            "drift_retrain": monitoring.drift_retrain.function,
        }
        rules = LoopRules(
            self,
            "Rules",
            names=names,
            targets_=LoopTargets(**functions),
            data_bucket_name=storage.data_bucket.bucket_name,
            incoming_prefix=INCOMING_PREFIX,
            training_pipeline_arn=training.pipeline.pipeline_arn,
            model_package_group_name=names.model_group,
            endpoint_name=names.endpoint,
            drift_alarm_names=config.drift_alarm_names,
            monitoring_schedule=config.drift.schedule,
            retrain_schedule=config.retrain.schedule,
            failure_queue=failures.queue,
        )
        rules.node.add_dependency(training.pipeline.pipeline, monitoring.pipeline.pipeline)
        notifications.watch(
            functions=functions,
            failure_queue=failures.queue,
            alarms_=[*monitoring.alarms, *deployment.alarms],
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
