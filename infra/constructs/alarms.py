"""CloudWatch alarms: drift and model quality (retrain triggers), data quality, endpoint
(rollback triggers), operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.names import PhysicalNames
from pipelines.metric_names import (
    DATA_QUALITY_SCORE_METRIC,
    DRIFT_SCORE_METRIC,
    feature_drift_metric,
    feature_token,
    model_quality_metric,
)


def alarm_arn_pattern(stack: Stack, prefix: str) -> str:
    """Every alarm of the stack: all are named `<prefix>-...` (infra/names.py)."""
    return f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{prefix}-*"


class Notifications(Construct):
    """The SNS topic for people: failures, models awaiting approval, rollbacks, alarms.

    The stack's alarms publish to it as `cloudwatch.amazonaws.com`: the topic policy lets them,
    and, the topic being encrypted, so does the key policy (Decrypt and GenerateDataKey*), both
    for this account's alarms of this stack only. AWS pages: "Enable compatibility between event
    sources from AWS services and encrypted topics",
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    (the key statement, with aws:SourceArn and the topic's encryption context), and
    https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger (the topic
    statement for cloudwatch.amazonaws.com, narrowed to alarms with aws:SourceArn).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        key: kms.IKey,
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=names.topic,
            display_name=f"{names.prefix} MLOps",
            master_key=key,
            enforce_ssl=True,
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        stack = Stack.of(self)
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": alarm_arn_pattern(stack, names.prefix)},
        }
        alarms = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsPublish",
                principals=[alarms],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsPublishEncrypted",
                principals=[alarms],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    **from_our_alarms,
                    "StringEquals": {
                        **from_our_alarms["StringEquals"],
                        # Spelled out, not a Ref: the topic depends on the key already.
                        "kms:EncryptionContext:aws:sns:topicArn": (
                            f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{names.topic}"
                        ),
                    },
                },
            )
        )


class DriftAlarms(Construct):
    """One alarm per feature and one on the share of drifted features. The drift rule and the
    drift_retrain function match their exact names (`names`), never a prefix another alarm of the
    stack could share."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        namespace: str,
        endpoint_name: str,
        feature_thresholds: Mapping[str, float],
        score_threshold: float,
        evaluation_periods: int,
        period: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"EndpointName": endpoint_name}

        def alarm(
            alarm_id: str, alarm_name: str, metric_name: str, threshold: float, what: str
        ) -> cloudwatch.Alarm:
            return cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=alarm_name,
                alarm_description=f"{what} on {endpoint_name} crossed {threshold}: retrain.",
                metric=cloudwatch.Metric(
                    namespace=namespace,
                    metric_name=metric_name,
                    dimensions_map=dimensions,
                    statistic="Maximum",
                    period=period,
                ),
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=evaluation_periods,
                # No traffic in a window means no evidence of drift, not drift.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        self.score_alarm = alarm(
            "Score",
            names.drift_score_alarm,
            DRIFT_SCORE_METRIC,
            score_threshold,
            "Share of drifted features",
        )
        self.feature_alarms = {
            feature: alarm(
                # A construct id cannot hold "/", and the feature's name may.
                f"Feature-{feature_token(feature)}",
                names.drift_feature_alarm(feature),
                feature_drift_metric(feature),
                threshold,
                f"Drift of feature {feature!r}",
            )
            for feature, threshold in feature_thresholds.items()
        }

    @property
    def all(self) -> list[cloudwatch.Alarm]:
        return [self.score_alarm, *self.feature_alarms.values()]


class QualityAlarms(Construct):
    """The model-quality alarm (retrains, matched by exact name like the drift alarms) on the
    configured metric from ground truth, and the optional data-quality alarm (notifies only:
    broken inputs call for a person, not for training on them). Both see too few rows as
    missing data, never as a breach."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        namespace: str,
        endpoint_name: str,
        metric: str,
        threshold: float,
        greater_is_better: bool,
        evaluation_periods: int,
        data_quality_threshold: float | None,
        period: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"EndpointName": endpoint_name}
        worse = "below" if greater_is_better else "above"
        self.model_quality = cloudwatch.Alarm(
            self,
            "ModelQuality",
            alarm_name=names.model_quality_alarm,
            alarm_description=(
                f"{metric} of {endpoint_name} on ground-truth labels {worse} {threshold}: retrain."
            ),
            metric=cloudwatch.Metric(
                namespace=namespace,
                metric_name=model_quality_metric(metric),
                dimensions_map=dimensions,
                # The worst value of the period, whichever way is worse.
                statistic="Minimum" if greater_is_better else "Maximum",
                period=period,
            ),
            threshold=threshold,
            comparison_operator=(
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                if greater_is_better
                else cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            ),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.data_quality = (
            cloudwatch.Alarm(
                self,
                "DataQuality",
                alarm_name=names.data_quality_alarm,
                alarm_description=(
                    f"A feature of {endpoint_name}'s traffic has {data_quality_threshold:.0%} "
                    "more missing, wrong-type, out-of-bounds or unseen values than the training "
                    "data: look at the caller."
                ),
                metric=cloudwatch.Metric(
                    namespace=namespace,
                    metric_name=DATA_QUALITY_SCORE_METRIC,
                    dimensions_map=dimensions,
                    statistic="Maximum",
                    period=period,
                ),
                threshold=data_quality_threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if data_quality_threshold is not None
            else None
        )

    @property
    def all(self) -> list[cloudwatch.Alarm]:
        return [self.model_quality, *([self.data_quality] if self.data_quality else [])]


class EndpointAlarms(Construct):
    """The alarms SageMaker watches during a blue/green update; either one rolls the update back."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        endpoint_name: str,
        variant_name: str,
        max_5xx_per_minute: int,
        latency_p99_ms: int,
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
        errors_5xx_name, latency_p99_name = names.rollback_alarms
        self.errors_5xx = cloudwatch.Alarm(
            self,
            "Errors5xx",
            alarm_name=errors_5xx_name,
            alarm_description=f"{endpoint_name} returns 5XX errors; rolls back a deployment.",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="Invocation5XXErrors",
                dimensions_map=dimensions,
                statistic="Sum",
                period=Duration.minutes(1),
            ),
            threshold=max_5xx_per_minute,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.latency_p99 = cloudwatch.Alarm(
            self,
            "LatencyP99",
            alarm_name=latency_p99_name,
            alarm_description=f"{endpoint_name} p99 model latency above {latency_p99_ms} ms; "
            "rolls back a deployment.",
            # ModelLatency is reported in microseconds.
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="ModelLatency",
                dimensions_map=dimensions,
                statistic="p99",
                period=Duration.minutes(1),
            ),
            threshold=latency_p99_ms * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def all(self) -> list[cloudwatch.Alarm]:
        return [self.errors_5xx, self.latency_p99]


class OperationsAlarms(Construct):
    """Lambda errors and dead-lettered events: the loop fails somewhere and a human must look."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        functions: Mapping[str, lambda_.IFunction],
        failure_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function_errors = [
            cloudwatch.Alarm(
                self,
                f"Errors-{name}",
                alarm_name=names.function_errors_alarm(name),
                alarm_description="The function failed; its event is retried, then dead-lettered.",
                metric=function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for name, function in functions.items()
        ]
        self.dead_letters = cloudwatch.Alarm(
            self,
            "DeadLetters",
            alarm_name=names.failed_events_alarm,
            alarm_description="Events that failed every retry wait in the failure queue.",
            metric=failure_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def all(self) -> list[cloudwatch.Alarm]:
        return [*self.function_errors, self.dead_letters]


def notify(alarms: Sequence[cloudwatch.Alarm], topic: sns.ITopic) -> None:
    """Send every state change of these alarms to the topic."""
    action = cw_actions.SnsAction(topic)
    for alarm in alarms:
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
