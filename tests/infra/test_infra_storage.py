"""The buckets, key and state table are secure by default and keep what the loop needs."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match


def _bucket_named(dev, fragment: str) -> dict:
    for resource in dev.resources("AWS::S3::Bucket").values():
        if fragment in str(resource["Properties"].get("BucketName")):
            return resource
    raise AssertionError(f"no bucket whose name contains {fragment!r}")


def test_data_and_artifacts_buckets_are_versioned_kms_encrypted_private_and_logged(dev):
    for name in ("-data-", "-artifacts-"):
        props = _bucket_named(dev, name)["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert "KMSMasterKeyID" in sse["ServerSideEncryptionByDefault"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["LoggingConfiguration"]["LogFilePrefix"] in ("data/", "artifacts/")
        assert "DestinationBucketName" in props["LoggingConfiguration"]


def test_data_bucket_sends_events_to_eventbridge_without_a_custom_resource(dev):
    props = _bucket_named(dev, "-data-")["Properties"]
    assert props["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert not dev.resources("Custom::S3BucketNotifications")
    handlers = [f["Properties"]["Handler"] for f in dev.resources("AWS::Lambda::Function").values()]
    assert all(h.startswith("functions.") for h in handlers), handlers


def test_quarantine_and_capture_expire_by_lifecycle(dev):
    rules = _bucket_named(dev, "-data-")["Properties"]["LifecycleConfiguration"]["Rules"]
    by_prefix = {r.get("Prefix"): r for r in rules}
    quarantine_days = dev.config.data.quarantine_expiry_days
    assert by_prefix["quarantine/"]["ExpirationInDays"] == quarantine_days
    assert by_prefix["capture/"]["ExpirationInDays"] == dev.config.data.capture_expiry_days
    assert all(r["Status"] == "Enabled" for r in rules)


def test_every_bucket_denies_plain_http(dev):
    policies = dev.resources("AWS::S3::BucketPolicy")
    assert len(policies) == len(dev.resources("AWS::S3::Bucket"))
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_stateful_resources_survive_stack_deletion(dev):
    for kind in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SageMaker::ModelPackageGroup"):
        for resource in dev.resources(kind).values():
            assert resource["DeletionPolicy"] == "Retain", kind


def test_key_rotates_and_lets_services_write_encrypted_logs_and_messages(dev):
    principals = Capture()
    dev.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Sid": "EventsDeadLetters", "Principal": {"Service": principals}}
                        ),
                    ]
                )
            },
        },
    )
    # CloudWatch's own statement, for the alarms' topic: tests/infra/test_infra_alarms.py.
    assert principals.as_string() == "events.amazonaws.com"


def test_state_table_has_the_contract_keys_ttl_backups_and_kms(dev):
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": Match.object_like({"SSEEnabled": True, "SSEType": "KMS"}),
        },
    )
