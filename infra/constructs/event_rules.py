"""One EventBridge rule per arrow of the loop (docs/contracts.md), plus the schedules."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.names import PhysicalNames
from infra.quotas import drift_alarm_pattern

PIPELINE_TERMINAL_STATUSES = ["Succeeded", "Failed", "Stopped"]
# Statuses after which the endpoint takes a new request; UPDATE_ROLLBACK_FAILED serves a mix of
# configs until the next UpdateEndpoint.
ENDPOINT_SETTLED_STATUSES = ["IN_SERVICE", "FAILED", "UPDATE_ROLLBACK_FAILED"]


@dataclass(frozen=True, kw_only=True)
class LoopTargets:
    data_arrival: lambda_.IFunction
    pipeline_events: lambda_.IFunction
    deploy: lambda_.IFunction
    drift_retrain: lambda_.IFunction


class LoopRules(Construct):
    """The wiring: which event reaches which function or pipeline."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        targets_: LoopTargets,
        data_bucket_name: str,
        incoming_prefix: str,
        training_pipeline_arn: str,
        model_package_group_name: str,
        endpoint_name: str,
        drift_alarm_names: list[str],
        monitoring_schedule: str,
        retrain_schedule: str | None,
        failure_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)

        def to_function(function: lambda_.IFunction) -> targets.LambdaFunction:
            # EventBridge retries delivery itself; what it cannot deliver is dead-lettered too.
            return targets.LambdaFunction(
                function,
                dead_letter_queue=failure_queue,
                retry_attempts=8,
                max_event_age=Duration.hours(2),
            )

        def rule(
            rule_id: str,
            kind: str,
            description: str,
            pattern: events.EventPattern,
            target: events.IRuleTarget,
        ) -> events.Rule:
            return events.Rule(
                self,
                rule_id,
                rule_name=names.rule(kind),
                description=description,
                event_pattern=pattern,
                targets=[target],
            )

        self.data_arrival = rule(
            "DataArrival",
            "data-arrival",
            "S3 Object Created under incoming/ -> data_arrival (validate, then train)",
            events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [data_bucket_name]},
                    "object": {"key": [{"prefix": incoming_prefix}]},
                },
            ),
            to_function(targets_.data_arrival),
        )
        self.pipeline_status = rule(
            "PipelineStatus",
            "pipeline-status",
            "Training pipeline finished -> pipeline_events (notify, release guard, follow-up run)",
            events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Building Pipeline Execution Status Change"],
                detail={
                    "pipelineArn": [training_pipeline_arn],
                    "currentPipelineExecutionStatus": PIPELINE_TERMINAL_STATUSES,
                },
            ),
            to_function(targets_.pipeline_events),
        )
        self.model_approval = rule(
            "ModelApproval",
            "model-approval",
            "Model package Approved/Rejected in the group -> deploy",
            events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": [model_package_group_name],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                    # An update fires for any field (a description edit, metadata); react to
                    # approval changes and to packages created already decided.
                    "$or": [
                        {"UpdatedModelPackageFields": ["ModelApprovalStatus"]},
                        {"UpdatedModelPackageFields": [{"exists": False}]},
                    ],
                },
            ),
            to_function(targets_.deploy),
        )
        self.endpoint_status = rule(
            "EndpointStatus",
            "endpoint-status",
            "Endpoint settled (in service or failed) -> deploy (verify the running config)",
            events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Endpoint State Change"],
                detail={
                    "EndpointName": [endpoint_name],
                    "EndpointStatus": ENDPOINT_SETTLED_STATUSES,
                },
            ),
            to_function(targets_.deploy),
        )
        drift = drift_alarm_pattern(drift_alarm_names)
        self.drift_alarm = rule(
            "DriftAlarm",
            "drift-alarm",
            "A drift alarm went to ALARM -> drift_retrain",
            events.EventPattern(
                source=drift["source"], detail_type=drift["detail-type"], detail=drift["detail"]
            ),
            to_function(targets_.drift_retrain),
        )

        # Through deploy, which starts the monitoring pipeline only while a model serves: a
        # schedule straight to the pipeline would run a job every hour before the first model.
        self.monitoring_schedule = events.Rule(
            self,
            "MonitoringSchedule",
            rule_name=names.rule("monitoring-schedule"),
            description="Measure drift of the captured traffic -> deploy (starts monitoring "
            "while a model serves)",
            schedule=events.Schedule.expression(monitoring_schedule),
            targets=[to_function(targets_.deploy)],
        )
        self.retrain_schedule = None
        if retrain_schedule:
            self.retrain_schedule = events.Rule(
                self,
                "RetrainSchedule",
                rule_name=names.rule("retrain-schedule"),
                description="Periodic retraining -> drift_retrain (same guards as drift)",
                schedule=events.Schedule.expression(retrain_schedule),
                targets=[to_function(targets_.drift_retrain)],
            )
