"""Grouping resources into components keeps their logical IDs: CloudFormation replaces a
resource whose ID changes, which would empty the state table and collide with the retained
buckets' and registry's names on the next deploy."""

from __future__ import annotations

# The IDs these resources had when the stack created them at its top level.
STABLE = {
    "AWS::S3::Bucket": {
        "StorageAccessLogs96FB524C",
        "StorageArtifacts08431D1F",
        "StorageData6BB23F4E",
    },
    "AWS::KMS::Key": {"StorageKeyBAA9457B"},
    "AWS::DynamoDB::Table": {"StateTable962DE04C"},
    "AWS::SageMaker::ModelPackageGroup": {"RegistryGroupF9A457C4"},
    "AWS::SageMaker::Pipeline": {"TrainingPipeline329DEAEC", "MonitoringPipeline9D054F3E"},
    "AWS::SNS::Topic": {"NotificationsTopicAE679CBD"},
    "AWS::SQS::Queue": {"FailuresQueueB0898B50"},
    "AWS::Lambda::Function": {
        "DataArrivalFunction0DFE26C9",
        "PipelineEventsFunctionB4B85CE5",
        "DeployFunctionF5CD5801",
        "DriftRetrainFunctionFE74BD9A",
    },
    "AWS::Logs::LogGroup": {
        "DataArrivalLogs41C27AB9",
        "PipelineEventsLogs7B4083F8",
        "DeployLogs6AB4AD5F",
        "DriftRetrainLogs9E6574BF",
    },
    "AWS::IAM::Role": {
        "SageMakerRole1353C180",
        "ModelRole997FC3A9",
        "DataArrivalFunctionServiceRole09A93B26",
        "PipelineEventsFunctionServiceRole7D386D09",
        "DeployFunctionServiceRole2C9DC74D",
        "DriftRetrainFunctionServiceRoleCD5C6159",
    },
}


def test_stateful_and_named_resources_keep_their_logical_ids(dev):
    for kind, ids in STABLE.items():
        assert set(dev.resources(kind)) == ids, kind
