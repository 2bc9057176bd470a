"""One CloudWatch dashboard for the whole loop: training runs, drift, the endpoint, the glue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.names import PhysicalNames
from pipelines.metric_names import DRIFT_SCORE_METRIC, feature_drift_metric

PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"


class LoopDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        training_pipeline_name: str,
        drift_namespace: str,
        endpoint_name: str,
        variant_name: str,
        features: Sequence[str],
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        hour = Duration.hours(1)
        minute = Duration.minutes(1)

        def pipeline_metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=PIPELINE_NAMESPACE,
                metric_name=name,
                statistic="Sum",
                period=hour,
                dimensions_map={"PipelineName": training_pipeline_name},
                label=name,
            )

        def drift_metric(metric_name: str, label: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=drift_namespace,
                metric_name=metric_name,
                statistic="Maximum",
                period=hour,
                dimensions_map={"EndpointName": endpoint_name},
                label=label,
            )

        def endpoint_metric(metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=metric_name,
                statistic=statistic,
                period=minute,
                dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name},
                label=f"{metric_name} {statistic}",
            )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=names.dashboard,
            default_interval=Duration.days(7),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Training pipeline runs",
                left=[
                    pipeline_metric(n)
                    for n in (
                        "ExecutionStarted",
                        "ExecutionSucceeded",
                        "ExecutionFailed",
                        "ExecutionStopped",
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Drift per feature",
                left=[drift_metric(feature_drift_metric(f), f) for f in features],
                right=[drift_metric(DRIFT_SCORE_METRIC, "drift_score")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Endpoint latency (microseconds)",
                left=[
                    endpoint_metric("ModelLatency", "p50"),
                    endpoint_metric("ModelLatency", "p99"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Endpoint invocations and errors",
                left=[endpoint_metric("Invocations", "Sum")],
                right=[
                    endpoint_metric("Invocation4XXErrors", "Sum"),
                    endpoint_metric("Invocation5XXErrors", "Sum"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[
                    fn.metric_errors(period=Duration.minutes(5), statistic="Sum", label=name)
                    for name, fn in functions.items()
                ],
                width=24,
            ),
        )
