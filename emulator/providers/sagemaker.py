"""SageMaker: pipeline executions, endpoints, and the model registry's events.

moto records a pipeline execution as Succeeded at once and runs nothing, has no UpdateEndpoint,
and serves no endpoint; this provider owns those operations and answers them from the pipeline
executor and the endpoint host. Model packages stay in moto; creating or updating one emits
`SageMaker Model Package State Change` as SageMaker does, with `UpdatedModelPackageFields` on an
update (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
moto's UpdateModelPackage also drops the `CustomerMetadataProperties` a request does not repeat,
where SageMaker merges them; the provider restores them, since the lineage lives there.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Callable
from typing import Any

from emulator.aws_events import model_package_event
from emulator.endpoints import EndpointHost
from emulator.front import Front, Reply, ServiceError, json_reply
from emulator.pipeline_executor import PipelineExecutor
from emulator.requests import AwsRequest

_UPDATE_FIELDS = {
    "ModelApprovalStatus": "ModelApprovalStatus",
    "ApprovalDescription": "ApprovalDescription",
    "CustomerMetadataProperties": "CustomerMetadataProperties",
    "CustomerMetadataPropertiesToRemove": "CustomerMetadataProperties",
    "AdditionalInferenceSpecificationsToAdd": "AdditionalInferenceSpecifications",
    "InferenceSpecification": "InferenceSpecification",
    "SourceUri": "SourceUri",
    "ModelCard": "ModelCard",
    "ModelLifeCycle": "ModelLifeCycle",
}


def _page(items: list[Any], request: AwsRequest, default: int = 10) -> tuple[list[Any], str | None]:
    start = int(request.params.get("NextToken") or 0)
    size = int(request.params.get("MaxResults") or default)
    token = str(start + size) if start + size < len(items) else None
    return items[start : start + size], token


class SageMakerProvider:
    def __init__(
        self,
        cloud: Any,
        *,
        executor: PipelineExecutor,
        endpoints: EndpointHost,
        emit: Callable[[dict[str, Any]], None],
    ) -> None:
        self.cloud = cloud
        self.executor = executor
        self.endpoints = endpoints
        self.emit = emit
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def install(self, front: Front) -> None:
        self.front = front
        for operation, handler in {
            "StartPipelineExecution": self.start_pipeline_execution,
            "DescribePipelineExecution": self.describe_pipeline_execution,
            "ListPipelineExecutions": self.list_pipeline_executions,
            "ListPipelineExecutionSteps": self.list_pipeline_execution_steps,
            "ListPipelineParametersForExecution": self.list_parameters,
            "CreateEndpoint": self.create_endpoint,
            "UpdateEndpoint": self.update_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            "CreateModelPackage": self.create_model_package,
            "UpdateModelPackage": self.update_model_package,
        }.items():
            front.own("sagemaker", operation, handler)

    # -- pipeline executions ---------------------------------------------------------------

    def _pipeline(self, name_or_arn: str) -> dict[str, Any]:
        name = name_or_arn.rsplit(":pipeline/", 1)[-1]
        sagemaker = self.cloud.moto_client("sagemaker")
        try:
            return sagemaker.describe_pipeline(PipelineName=name)
        except sagemaker.exceptions.ClientError as exc:
            raise ServiceError(
                "ResourceNotFound",
                f"Pipeline 'arn:aws:sagemaker:{self.cloud.region}:{self.cloud.account}:"
                f"pipeline/{name.lower()}' does not exist.",
            ) from exc

    def start_pipeline_execution(self, request: AwsRequest) -> Reply:
        import json

        p = request.params
        pipeline = self._pipeline(p["PipelineName"])
        arn = pipeline["PipelineArn"]
        token = p.get("ClientRequestToken")
        with self._lock:
            if token and (arn, token) in self._tokens:
                # The same token starts nothing new (idempotency), as in SageMaker.
                return json_reply({"PipelineExecutionArn": self._tokens[(arn, token)]})
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=12))
            execution_arn = f"{arn.lower()}/execution/{suffix}"
            if token:
                self._tokens[(arn, token)] = execution_arn
        self.executor.start(
            pipeline_arn=arn.lower(),
            execution_arn=execution_arn,
            definition=json.loads(pipeline["PipelineDefinition"]),
            parameters={x["Name"]: str(x["Value"]) for x in p.get("PipelineParameters", [])},
            role_arn=pipeline["RoleArn"],
            display_name=p.get("PipelineExecutionDisplayName"),
            description=p.get("PipelineExecutionDescription", ""),
        )
        return json_reply({"PipelineExecutionArn": execution_arn})

    def _execution(self, arn: str) -> Any:
        record = self.executor.execution(arn)
        if record is None:
            raise ServiceError("ResourceNotFound", f"Pipeline execution '{arn}' does not exist.")
        return record

    def describe_pipeline_execution(self, request: AwsRequest) -> Reply:
        return json_reply(self._execution(request.params["PipelineExecutionArn"]).describe())

    def list_pipeline_executions(self, request: AwsRequest) -> Reply:
        p = request.params
        pipeline = self._pipeline(p["PipelineName"])
        records = self.executor.executions(pipeline["PipelineArn"])
        after, before = p.get("CreatedAfter"), p.get("CreatedBefore")
        if after is not None:
            records = [r for r in records if r.started.timestamp() > float(after)]
        if before is not None:
            records = [r for r in records if r.started.timestamp() < float(before)]
        records.sort(
            key=lambda r: r.started, reverse=p.get("SortOrder", "Descending") == "Descending"
        )
        page, token = _page(records, request)
        summaries = []
        for r in page:
            summary = {
                "PipelineExecutionArn": r.arn,
                "StartTime": r.started,
                "PipelineExecutionStatus": r.status,
                "PipelineExecutionDescription": r.description,
                "PipelineExecutionDisplayName": r.display_name,
            }
            if r.failure_reason:
                summary["PipelineExecutionFailureReason"] = r.failure_reason
            summaries.append(summary)
        out: dict[str, Any] = {"PipelineExecutionSummaries": summaries}
        if token:
            out["NextToken"] = token
        return json_reply(out)

    def list_pipeline_execution_steps(self, request: AwsRequest) -> Reply:
        arn = request.params["PipelineExecutionArn"]
        self._execution(arn)
        steps = self.executor.steps(arn)
        if request.params.get("SortOrder") == "Ascending":
            steps.reverse()
        page, token = _page(steps, request, default=50)
        out: dict[str, Any] = {"PipelineExecutionSteps": page}
        if token:
            out["NextToken"] = token
        return json_reply(out)

    def list_parameters(self, request: AwsRequest) -> Reply:
        record = self._execution(request.params["PipelineExecutionArn"])
        items = [{"Name": k, "Value": v} for k, v in record.parameters.items()]
        page, token = _page(items, request, default=50)
        out: dict[str, Any] = {"PipelineParameters": page}
        if token:
            out["NextToken"] = token
        return json_reply(out)

    # -- endpoints -------------------------------------------------------------------------

    def create_endpoint(self, request: AwsRequest) -> Reply:
        p = request.params
        tags = {t["Key"]: t["Value"] for t in p.get("Tags", [])}
        arn = self.endpoints.create(p["EndpointName"], p["EndpointConfigName"], tags)
        return json_reply({"EndpointArn": arn})

    def update_endpoint(self, request: AwsRequest) -> Reply:
        p = request.params
        arn = self.endpoints.update(
            p["EndpointName"], p["EndpointConfigName"], p.get("DeploymentConfig")
        )
        return json_reply({"EndpointArn": arn})

    def describe_endpoint(self, request: AwsRequest) -> Reply:
        return json_reply(self.endpoints.describe(request.params["EndpointName"]))

    def delete_endpoint(self, request: AwsRequest) -> Reply:
        self.endpoints.delete(request.params["EndpointName"])
        return json_reply({})

    def list_endpoints(self, request: AwsRequest) -> Reply:
        p = request.params
        items = self.endpoints.list()
        if p.get("NameContains"):
            items = [e for e in items if p["NameContains"] in e["EndpointName"]]
        if p.get("StatusEquals"):
            items = [e for e in items if e["EndpointStatus"] == p["StatusEquals"]]
        if p.get("SortOrder") == "Ascending":
            items.reverse()
        page, token = _page(items, request)
        out: dict[str, Any] = {"Endpoints": page}
        if token:
            out["NextToken"] = token
        return json_reply(out)

    # -- the model registry ----------------------------------------------------------------

    def _describe_package(self, arn: str) -> dict[str, Any]:
        described = self.cloud.moto_client("sagemaker").describe_model_package(ModelPackageName=arn)
        described.pop("ResponseMetadata", None)
        return described

    def create_model_package(self, request: AwsRequest) -> Reply:
        reply = self.front.forward(request.environ)
        if reply.ok:
            import json

            arn = json.loads(reply.body)["ModelPackageArn"]
            self.emit(model_package_event(self._describe_package(arn), None))
        return reply

    def update_model_package(self, request: AwsRequest) -> Reply:
        p = request.params
        arn = p["ModelPackageArn"]
        sagemaker = self.cloud.moto_client("sagemaker")
        try:
            before = self._describe_package(arn)
        except sagemaker.exceptions.ClientError as exc:
            error = exc.response["Error"]
            raise ServiceError(
                error.get("Code", "ValidationException"), error.get("Message", "")
            ) from exc
        # SageMaker changes only the fields a request names; moto resets the others, so the
        # request moto sees repeats what is kept.
        kept = dict(before.get("CustomerMetadataProperties") or {})
        kept.update(p.get("CustomerMetadataProperties") or {})
        for name in p.get("CustomerMetadataPropertiesToRemove") or []:
            kept.pop(name, None)
        args: dict[str, Any] = {
            "ModelPackageArn": arn,
            "ModelApprovalStatus": p.get("ModelApprovalStatus", before.get("ModelApprovalStatus")),
            "ApprovalDescription": p.get("ApprovalDescription", before.get("ApprovalDescription")),
            "CustomerMetadataProperties": kept or None,
            "AdditionalInferenceSpecificationsToAdd": p.get(
                "AdditionalInferenceSpecificationsToAdd"
            ),
        }
        try:
            sagemaker.update_model_package(**{k: v for k, v in args.items() if v is not None})
        except sagemaker.exceptions.ClientError as exc:
            error = exc.response["Error"]
            raise ServiceError(
                error.get("Code", "ValidationException"), error.get("Message", "")
            ) from exc
        after = self._describe_package(arn)
        fields = sorted({_UPDATE_FIELDS[k] for k in p if k in _UPDATE_FIELDS})
        self.emit(model_package_event(after, fields))
        return json_reply({"ModelPackageArn": arn})
