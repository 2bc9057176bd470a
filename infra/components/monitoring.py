"""Monitoring: the pipeline that measures drift and quality of captured traffic, the drift and
quality alarms, and the function that retrains on them (and on the optional schedule) within
cooldown and daily cap."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from infra import contracts
from infra.components.component import Component
from infra.components.foundation import Foundation
from infra.components.training import Training
from infra.constructs import access
from infra.constructs.alarms import DriftAlarms, QualityAlarms
from infra.constructs.functions import LoopFunction


class Monitoring(Component):
    def __init__(
        self, scope: Construct, construct_id: str, *, base: Foundation, training: Training
    ) -> None:
        super().__init__(scope, construct_id)
        config, names = base.config, base.names
        self.pipeline = training.sagemaker_pipeline(
            "MonitoringPipeline",
            scope=self,
            pipeline_name=names.monitoring_pipeline,
            description="Measure drift of captured traffic against the live model's baseline",
            definition=training.pipelines.monitoring_definition,
            placeholders=training.pipelines.monitoring_placeholders,
        )
        self.alarms = DriftAlarms(
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
        ).all
        # Model quality from ground truth (retrains, like drift) and data quality (notifies).
        self.alarms += QualityAlarms(
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
        ).all
        self.drift_retrain = LoopFunction(
            self,
            "DriftRetrain",
            platform=base.platform,
            name="drift_retrain",
            description="Retrains on drift alarms and schedules, within cooldown and cap",
            settings=contracts.drift_retrain_settings(base.config, base.deployed),
        )
        self.drift_retrain.grant(*training.start_statements)
        folders = contracts.labelled_traffic_folders(config)
        if folders is not None:
            # A retrain's manifest names the current versions of the endpoint's capture and
            # ground-truth objects of the look-back (ListObjectVersions, functions/drift_retrain).
            self.drift_retrain.grant(
                access.listing(
                    base.storage.data_bucket,
                    folders.capture,
                    folders.ground_truth,
                    action="s3:ListBucketVersions",
                )
            )
