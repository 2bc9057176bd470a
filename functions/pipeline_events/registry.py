"""Find the model package a pipeline execution registered, and describe it for people."""

from __future__ import annotations

from typing import Any

from functions.shared.clients import client

# Registration happens at the end of the run; the package is among the newest few.
_SEARCH_DEPTH = 20


def package_of_execution(group: str, execution_arn: str) -> dict[str, Any] | None:
    listed = client("sagemaker").list_model_packages(
        ModelPackageGroupName=group,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=_SEARCH_DEPTH,
    )["ModelPackageSummaryList"]
    for summary in listed:
        package = client("sagemaker").describe_model_package(
            ModelPackageName=summary["ModelPackageArn"]
        )
        lineage = package.get("CustomerMetadataProperties", {}).get("PipelineExecutionArn", "")
        generated_by = package.get("MetadataProperties", {}).get("GeneratedBy", "")
        if execution_arn.lower() in (lineage.lower(), generated_by.lower()):
            return package
    return None


def metrics_of(package: dict[str, Any]) -> dict[str, Any]:
    """The headline metric from the lineage, plus where the full reports are."""
    props = package.get("CustomerMetadataProperties", {})
    report = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    return {
        "metric_name": props.get("MetricName"),
        "metric_value": props.get("MetricValue"),
        "evaluation_uri": props.get("EvaluationUri") or report.get("S3Uri"),
        "baseline_uri": props.get("BaselineUri"),
    }
