"""The resource types the runtime creates itself, through the same AWS APIs a user would call.

moto's CloudFormation lacks these types, or drops properties that matter (its `AWS::S3::Bucket`
keeps only encryption and tags; its `AWS::KMS::Key` fails on CloudFormation-style tags). Each
entry creates one resource from its resolved properties and returns what `Ref` and `Fn::GetAtt`
give for it; each supplement completes a resource moto's CloudFormation created. The moto contract
tests (`tests/emulator/test_moto_contract.py`) pin every gap these fill, so a moto upgrade that
closes one fails loudly instead of silently doubling the work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Created:
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    client: Callable[[str], Any]
    account: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in props.get("Tags", [])]


def _document(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def kms_key(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    kms = ctx.client("kms")
    args: dict[str, Any] = {"Description": str(p.get("Description", ""))}
    if "KeyPolicy" in p:
        args["Policy"] = _document(p["KeyPolicy"])
    for name in ("KeyUsage", "KeySpec", "MultiRegion"):
        if name in p:
            args[name] = p[name]
    if p.get("Tags"):
        args["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(p)]
    meta = kms.create_key(**args)["KeyMetadata"]
    if p.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    return Created(meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]})


def cloudwatch_alarm(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    name = p.get("AlarmName") or f"local-{logical}"
    args = {k: v for k, v in p.items() if k != "Tags"}
    args["AlarmName"] = name
    if p.get("Tags"):
        args["Tags"] = _tags(p)
    ctx.client("cloudwatch").put_metric_alarm(**args)
    return Created(name, {"Arn": ctx.arn("cloudwatch", f"alarm:{name}")})


def event_invoke_config(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    args = {
        k: p[k]
        for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        if k in p
    }
    ctx.client("lambda").put_function_event_invoke_config(
        FunctionName=p["FunctionName"], Qualifier=p.get("Qualifier", "$LATEST"), **args
    )
    return Created(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}")


def bucket_policy(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    ctx.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=_document(p["PolicyDocument"]))
    return Created(p["Bucket"])


def topic_policy(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    for topic in p["Topics"]:
        ctx.client("sns").set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=_document(p["PolicyDocument"])
        )
    return Created(logical)


def queue_policy(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    for queue_url in p["Queues"]:
        ctx.client("sqs").set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": _document(p["PolicyDocument"])}
        )
    return Created(logical)


def model_package_group(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    name = p["ModelPackageGroupName"]
    args: dict[str, Any] = {"ModelPackageGroupName": name}
    if "ModelPackageGroupDescription" in p:
        args["ModelPackageGroupDescription"] = p["ModelPackageGroupDescription"]
    if p.get("Tags"):
        args["Tags"] = _tags(p)
    arn = ctx.client("sagemaker").create_model_package_group(**args)["ModelPackageGroupArn"]
    return Created(arn, {"ModelPackageGroupArn": arn})


def sagemaker_pipeline(logical: str, p: dict[str, Any], ctx: Context) -> Created:
    definition = p["PipelineDefinition"]
    if "PipelineDefinitionBody" not in definition:
        raise ValueError("PipelineDefinition without PipelineDefinitionBody is not supported")
    body = definition["PipelineDefinitionBody"]
    json.loads(body)  # a Sub that left the body invalid JSON fails the deploy, as in AWS
    args: dict[str, Any] = {
        "PipelineName": p["PipelineName"],
        "PipelineDefinition": body,
        "RoleArn": p["RoleArn"],
    }
    for name in ("PipelineDescription", "PipelineDisplayName", "ParallelismConfiguration"):
        if name in p:
            args[name] = p[name]
    if p.get("Tags"):
        args["Tags"] = _tags(p)
    ctx.client("sagemaker").create_pipeline(**args)
    return Created(
        p["PipelineName"], {"PipelineArn": ctx.arn("sagemaker", f"pipeline/{p['PipelineName']}")}
    )


# Types moto's CloudFormation lacks (or cannot create), created here instead.
RUNTIME_TYPES: dict[str, Callable[[str, dict[str, Any], Context], Created]] = {
    "AWS::KMS::Key": kms_key,
    "AWS::CloudWatch::Alarm": cloudwatch_alarm,
    "AWS::Lambda::EventInvokeConfig": event_invoke_config,
    "AWS::S3::BucketPolicy": bucket_policy,
    "AWS::SNS::TopicPolicy": topic_policy,
    "AWS::SQS::QueuePolicy": queue_policy,
    "AWS::SageMaker::ModelPackageGroup": model_package_group,
    "AWS::SageMaker::Pipeline": sagemaker_pipeline,
}

# Types with nothing to create anywhere, and why.
IGNORED_TYPES = {"AWS::CDK::Metadata": "CDK usage metadata: nothing to create"}


def bucket_supplement(physical: str, p: dict[str, Any], ctx: Context) -> list[str]:
    """What moto's CloudFormation drops of an `AWS::S3::Bucket`, applied through S3's API.
    Returns the properties that cannot be honoured locally."""
    s3 = ctx.client("s3")
    unsupported = []
    if "VersioningConfiguration" in p:
        s3.put_bucket_versioning(
            Bucket=physical,
            VersioningConfiguration={"Status": p["VersioningConfiguration"]["Status"]},
        )
    if "AccessControl" in p:
        # CloudFormation's canned ACL names (LogDeliveryWrite) are S3's (log-delivery-write).
        acl = re.sub(r"(?<!^)([A-Z])", r"-\1", p["AccessControl"]).lower()
        s3.put_bucket_acl(Bucket=physical, ACL=acl)
    if "PublicAccessBlockConfiguration" in p:
        s3.put_public_access_block(
            Bucket=physical, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in p:
        s3.put_bucket_ownership_controls(Bucket=physical, OwnershipControls=p["OwnershipControls"])
    if "LifecycleConfiguration" in p:
        rules = []
        for rule in p["LifecycleConfiguration"]["Rules"]:
            out: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule["Status"]}
            out["Filter"] = {"Prefix": rule.get("Prefix", "")}
            if "ExpirationInDays" in rule:
                out["Expiration"] = {"Days": rule["ExpirationInDays"]}
            if "NoncurrentVersionExpiration" in rule:
                days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
                out["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
            if "AbortIncompleteMultipartUpload" in rule:
                out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
            rules.append(out)
        s3.put_bucket_lifecycle_configuration(
            Bucket=physical, LifecycleConfiguration={"Rules": rules}
        )
    if "LoggingConfiguration" in p:
        logging = p["LoggingConfiguration"]
        s3.put_bucket_logging(
            Bucket=physical,
            BucketLoggingStatus={
                "LoggingEnabled": {
                    "TargetBucket": logging["DestinationBucketName"],
                    "TargetPrefix": logging.get("LogFilePrefix", ""),
                }
            },
        )
    notifications = p.get("NotificationConfiguration", {})
    for kind in notifications:
        if kind != "EventBridgeConfiguration":
            unsupported.append(f"NotificationConfiguration.{kind}")
    if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
        s3.put_bucket_notification_configuration(
            Bucket=physical, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    return unsupported


# Properties moto's CloudFormation creates a resource without, completed after it.
SUPPLEMENTS: dict[str, Callable[[str, dict[str, Any], Context], list[str]]] = {
    "AWS::S3::Bucket": bucket_supplement,
}
