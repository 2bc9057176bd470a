"""Deploy a synthesized CloudFormation template into the LocalCloud's moto.

What moto supports is created in moto (buckets, table, queue, topic, key, roles, model package
group, pipelines, alarms, dashboard); what the runtime runs itself is recorded (functions, event
rules and schedules). Every resource type is either handled, or known and recorded/ignored with a
reason, or listed in `Deployment.unsupported` by name — never skipped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from emulator.intrinsics import Resolver, UnsupportedIntrinsic

# Known types the runtime does not need to create; the reason is reported with each.
_RECORDED = {
    "AWS::IAM::Policy": "recorded only: moto does not enforce IAM locally",
    "AWS::S3::BucketPolicy": "recorded only: moto does not enforce bucket policies",
    "AWS::SQS::QueuePolicy": "recorded only: moto does not enforce queue policies",
    "AWS::SNS::TopicPolicy": "recorded only: moto does not enforce topic policies",
    "AWS::Lambda::Permission": "recorded only: the local event bus invokes functions directly",
    "AWS::Logs::LogGroup": "recorded only: local function logs go to the runtime's stdout",
    "AWS::SNS::Subscription": "skipped: no e-mail or HTTPS delivery locally; messages stay in moto",
    "AWS::CDK::Metadata": "ignored: CDK usage metadata",
}


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    arn: str
    # From the EventInvokeConfig (asynchronous invocation): retries, then the failure queue.
    max_retry_attempts: int = 2
    on_failure_arn: str | None = None


@dataclass
class TargetSpec:
    id: str
    arn: str
    kind: str  # "lambda" | "pipeline"
    name: str  # function name or pipeline name
    dead_letter_arn: str | None = None
    pipeline_parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class RuleSpec:
    logical_id: str
    name: str
    arn: str
    pattern: dict[str, Any] | None
    schedule: str | None
    enabled: bool
    targets: list[TargetSpec]


@dataclass
class Deployment:
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> name
    event_buckets: list[str] = field(default_factory=list)  # EventBridge notifications on
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # queue ARN -> URL
    topics: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    pipelines: dict[str, str] = field(default_factory=dict)  # name -> ARN
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> resolved props
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # function name -> spec
    rules: list[RuleSpec] = field(default_factory=list)
    recorded: list[tuple[str, str, str]] = field(default_factory=list)  # (id, type, reason)
    unsupported: list[str] = field(default_factory=list)

    def rule(self, name: str) -> RuleSpec:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"no event rule named {name!r} in the deployment")


class _Deployer:
    def __init__(self, template: dict[str, Any], cloud: Any) -> None:
        self.template = template
        self.cloud = cloud
        self.resolver = Resolver(template, account=cloud.account, region=cloud.region)
        self.out = Deployment()
        self._clients: dict[str, Any] = {}
        self._invoke_configs: list[tuple[str, dict[str, Any]]] = []

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.cloud.client(service)
        return self._clients[service]

    def run(self) -> Deployment:
        for section in ("Conditions", "Transform"):
            if self.template.get(section):
                self.out.unsupported.append(f"template section {section}")
        for rule_name in self.template.get("Rules", {}):
            # CDK's CheckBootstrapVersion: asserts on the account's bootstrap stack, none here.
            self.out.recorded.append((rule_name, "template Rules", "not evaluated locally"))
        resources = self.template.get("Resources", {})
        # Keys first: their real ids appear in the ARNs every other resource refers to.
        ordered = sorted(resources.items(), key=lambda kv: kv[1]["Type"] != "AWS::KMS::Key")
        for logical_id, resource in ordered:
            kind = resource["Type"]
            if "Condition" in resource:
                self.out.unsupported.append(f"{logical_id} ({kind}): resource Condition")
                continue
            handler = getattr(self, "_" + kind.replace("::", "_").lower(), None)
            try:
                if handler is not None:
                    handler(logical_id, resource.get("Properties", {}))
                elif kind in _RECORDED:
                    self.out.recorded.append((logical_id, kind, _RECORDED[kind]))
                else:
                    self.out.unsupported.append(f"{logical_id} ({kind}): resource type")
            except UnsupportedIntrinsic as exc:
                self.out.unsupported.append(f"{logical_id} ({kind}): {exc}")
        for logical_id, props in self._invoke_configs:
            self._apply_invoke_config(logical_id, props)
        return self.out

    def r(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    # -- created in moto -------------------------------------------------------------------

    def _aws_kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        key = self.client("kms").create_key(Description=str(self.r(props.get("Description", ""))))
        meta = key["KeyMetadata"]
        self.resolver.physical_ids[logical_id] = meta["KeyId"]
        self.resolver.attributes[(logical_id, "Arn")] = meta["Arn"]
        self.resolver.attributes[(logical_id, "KeyId")] = meta["KeyId"]

    def _aws_kms_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        self.client("kms").create_alias(
            AliasName=self.r(props["AliasName"]), TargetKeyId=self.r(props["TargetKeyId"])
        )

    def _aws_s3_bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self.resolver.resolve({"Ref": logical_id})
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        self.out.buckets[logical_id] = name
        status = self.r(props.get("VersioningConfiguration", {})).get("Status")
        if status:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        notifications = props.get("NotificationConfiguration", {})
        for kind in notifications:
            if kind != "EventBridgeConfiguration":
                self.out.unsupported.append(f"{logical_id} (AWS::S3::Bucket): {kind}")
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
            self.out.event_buckets.append(name)

    def _aws_dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        name = self.resolver.resolve({"Ref": logical_id})
        ddb = self.client("dynamodb")
        ddb.create_table(
            TableName=name,
            KeySchema=p["KeySchema"],
            AttributeDefinitions=p["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
        )
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        self.out.tables[logical_id] = name

    def _aws_sqs_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        name = self.resolver.resolve({"Ref": logical_id})
        attributes = {
            k: str(p[k])
            for k in ("MessageRetentionPeriod", "VisibilityTimeout", "KmsMasterKeyId")
            if k in p
        }
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        # CloudFormation's Ref of a queue is its URL.
        self.resolver.physical_ids[logical_id] = url
        self.resolver.attributes[(logical_id, "QueueName")] = name
        arn = f"arn:aws:sqs:{self.cloud.region}:{self.cloud.account}:{name}"
        self.resolver.attributes[(logical_id, "Arn")] = arn
        self.out.queues[arn] = url

    def _aws_sns_topic(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        name = self.resolver.resolve({"Ref": logical_id})
        attributes = {k: str(p[k]) for k in ("DisplayName", "KmsMasterKeyId") if k in p}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self.resolver.physical_ids[logical_id] = arn
        self.resolver.attributes[(logical_id, "TopicArn")] = arn
        self.out.topics[logical_id] = arn

    def _aws_iam_role(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        name = self.resolver.resolve({"Ref": logical_id})
        role = self.client("iam").create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
            Description=p.get("Description", ""),
        )["Role"]
        self.resolver.attributes[(logical_id, "Arn")] = role["Arn"]

    def _aws_sagemaker_modelpackagegroup(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        self.client("sagemaker").create_model_package_group(
            ModelPackageGroupName=p["ModelPackageGroupName"],
            ModelPackageGroupDescription=p.get("ModelPackageGroupDescription", ""),
        )

    def _aws_sagemaker_pipeline(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        definition = p["PipelineDefinition"]
        if "PipelineDefinitionBody" not in definition:
            raise UnsupportedIntrinsic("PipelineDefinition without PipelineDefinitionBody")
        body = definition["PipelineDefinitionBody"]
        json.loads(body)  # a Sub that left the body invalid must fail the deploy here
        arn = self.client("sagemaker").create_pipeline(
            PipelineName=p["PipelineName"],
            PipelineDefinition=body,
            RoleArn=p["RoleArn"],
            PipelineDescription=p.get("PipelineDescription", ""),
        )["PipelineArn"]
        self.out.pipelines[p["PipelineName"]] = arn

    def _aws_cloudwatch_alarm(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        self.client("cloudwatch").put_metric_alarm(**p)
        self.out.alarms[p["AlarmName"]] = p

    def _aws_cloudwatch_dashboard(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        self.client("cloudwatch").put_dashboard(
            DashboardName=p["DashboardName"], DashboardBody=p["DashboardBody"]
        )

    # -- recorded: the runtime runs these itself -------------------------------------------

    def _aws_lambda_function(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self.resolver.resolve({"Ref": logical_id})
        # Layers (Powertools) are installed in the local environment; Code is this checkout.
        env = self.r(props.get("Environment", {}).get("Variables", {}))
        self.out.functions[name] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            handler=props["Handler"],
            environment={k: str(v) for k, v in env.items()},
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            arn=self.resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}),
        )

    def _aws_lambda_eventinvokeconfig(self, logical_id: str, props: dict[str, Any]) -> None:
        # Applied after every function is recorded, whatever the template order.
        self._invoke_configs.append((logical_id, self.r(props)))

    def _apply_invoke_config(self, logical_id: str, p: dict[str, Any]) -> None:
        function = self.out.functions.get(str(p["FunctionName"]).rsplit(":", 1)[-1])
        if function is None:
            self.out.unsupported.append(f"{logical_id}: EventInvokeConfig of unknown function")
            return
        function.max_retry_attempts = int(p.get("MaximumRetryAttempts", 2))
        destination = p.get("DestinationConfig", {})
        function.on_failure_arn = destination.get("OnFailure", {}).get("Destination")
        if destination.get("OnSuccess"):
            self.out.unsupported.append(f"{logical_id}: EventInvokeConfig OnSuccess")

    def _aws_events_rule(self, logical_id: str, props: dict[str, Any]) -> None:
        p = self.r(props)
        name = p.get("Name") or self.resolver.resolve({"Ref": logical_id})
        if p.get("EventBusName", "default") != "default":
            raise UnsupportedIntrinsic(f"event bus {p['EventBusName']} (only the default bus)")
        targets = [self._target(logical_id, t) for t in p.get("Targets", [])]
        self.out.rules.append(
            RuleSpec(
                logical_id=logical_id,
                name=name,
                arn=f"arn:aws:events:{self.cloud.region}:{self.cloud.account}:rule/{name}",
                pattern=p.get("EventPattern"),
                schedule=p.get("ScheduleExpression"),
                enabled=p.get("State", "ENABLED") == "ENABLED",
                targets=targets,
            )
        )

    def _target(self, rule_id: str, t: dict[str, Any]) -> TargetSpec:
        arn = t["Arn"]
        for key in ("Input", "InputPath", "InputTransformer"):
            if key in t:
                raise UnsupportedIntrinsic(f"rule target {t['Id']}: {key}")
        dlq = t.get("DeadLetterConfig", {}).get("Arn")
        if ":lambda:" in arn and ":function:" in arn:
            return TargetSpec(t["Id"], arn, "lambda", arn.rsplit(":", 1)[-1], dlq)
        if ":sagemaker:" in arn and ":pipeline/" in arn:
            params = {
                x["Name"]: str(x["Value"])
                for x in t.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
            }
            return TargetSpec(t["Id"], arn, "pipeline", arn.rsplit("/", 1)[-1], dlq, params)
        raise UnsupportedIntrinsic(f"rule target {t['Id']}: target type of {arn}")


def deploy(template: dict[str, Any], cloud: Any) -> Deployment:
    """Create the template's resources in `cloud` (a started LocalCloud) and record the rest."""
    return _Deployer(template, cloud).run()
