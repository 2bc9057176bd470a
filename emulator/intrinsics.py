"""Resolve the CloudFormation intrinsics the synthesized templates use, for a given account/region.

The local runtime "deploys" the very template `cdk deploy` would; physical names and ARNs come
out of it exactly as CloudFormation would compute them. An intrinsic this module does not know
raises `UnsupportedIntrinsic` naming it, never a silent wrong value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class UnsupportedIntrinsic(ValueError):
    """The template uses an intrinsic or attribute the local runtime cannot compute."""


@dataclass
class Resolver:
    template: dict[str, Any]
    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    # Physical ids and attributes of resources the runtime has created, by logical id.
    physical_ids: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    stack_name: str = "local"
    # Strict: a reference to a resource not created yet is an error, never a computed name
    # (the deployer); otherwise names come from the name properties (template assertions).
    strict: bool = False

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": "",
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Fn::GetAtt":
                return self._get_att(*argument)
            if name == "Fn::Join":
                separator, parts = argument
                return separator.join(str(p) for p in self.resolve(parts))
            if name == "Fn::Sub":
                return self._sub(argument)
            if name == "Fn::FindInMap":
                map_name, key, attribute = self.resolve(argument)
                try:
                    return self.template["Mappings"][map_name][key][attribute]
                except KeyError:
                    raise UnsupportedIntrinsic(
                        f"Fn::FindInMap {map_name}/{key}/{attribute}: no such entry"
                    ) from None
            if name == "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)]
            if name == "Fn::Split":
                separator, text = self.resolve(argument)
                return text.split(separator)
            if name.startswith("Fn::") or name == "Condition":
                raise UnsupportedIntrinsic(
                    f"intrinsic {name} is not supported by the local runtime"
                )
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters and "Default" in parameters[name]:
            return parameters[name]["Default"]
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise UnsupportedIntrinsic(f"Ref {name}: no such resource or parameter")
        if self.strict:
            raise UnsupportedIntrinsic(f"Ref {name}: the resource does not exist yet")
        return self._default_physical_id(name, resource)

    def _default_physical_id(self, logical_id: str, resource: dict[str, Any]) -> str:
        props = resource.get("Properties", {})
        name_keys = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::Events::Rule": "Name",
            "AWS::IAM::Role": "RoleName",
            "AWS::SageMaker::Pipeline": "PipelineName",
            "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
            "AWS::CloudWatch::Alarm": "AlarmName",
        }
        key = name_keys.get(resource["Type"])
        if key and key in props:
            return str(self.resolve(props[key]))
        return f"local-{logical_id.lower()}"

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            raise UnsupportedIntrinsic(f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
        if self.strict:
            raise UnsupportedIntrinsic(f"Fn::GetAtt {logical_id}.{attribute}: not known yet")
        kind, name = resource["Type"], self._ref(logical_id)
        arn = f"arn:{self.partition}"
        computed = {
            ("AWS::S3::Bucket", "Arn"): f"{arn}:s3:::{name}",
            (
                "AWS::Lambda::Function",
                "Arn",
            ): f"{arn}:lambda:{self.region}:{self.account}:function:{name}",
            (
                "AWS::DynamoDB::Table",
                "Arn",
            ): f"{arn}:dynamodb:{self.region}:{self.account}:table/{name}",
            ("AWS::SQS::Queue", "Arn"): f"{arn}:sqs:{self.region}:{self.account}:{name}",
            ("AWS::SQS::Queue", "QueueName"): name,
            ("AWS::SNS::Topic", "TopicArn"): f"{arn}:sns:{self.region}:{self.account}:{name}",
            ("AWS::IAM::Role", "Arn"): f"{arn}:iam::{self.account}:role/{name}",
            ("AWS::KMS::Key", "Arn"): f"{arn}:kms:{self.region}:{self.account}:key/{name}",
            ("AWS::Events::Rule", "Arn"): f"{arn}:events:{self.region}:{self.account}:rule/{name}",
            (
                "AWS::CloudWatch::Alarm",
                "Arn",
            ): f"{arn}:cloudwatch:{self.region}:{self.account}:alarm:{name}",
        }
        if (kind, attribute) not in computed:
            raise UnsupportedIntrinsic(f"Fn::GetAtt {kind}.{attribute} is not supported")
        return computed[(kind, attribute)]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(variables)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self._get_att(*name.split(".", 1))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
