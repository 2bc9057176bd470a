"""Job volumes are encrypted with the stack's key, except where SageMaker refuses a key."""

import pytest

from pipelines import sdk


@pytest.mark.parametrize("instance_type", ["ml.m5.large", "ml.c5.xlarge", "ml.t3.medium"])
def test_ebs_backed_types_get_the_volume_key(instance_type):
    assert sdk.volume_kms_key(instance_type) == "${KmsKeyArn}"


@pytest.mark.parametrize(
    "instance_type",
    ["ml.m5d.large", "ml.g4dn.xlarge", "ml.p4d.24xlarge", "ml.g5.xlarge", "ml.m6id.large"],
)
def test_types_with_local_storage_get_none(instance_type):
    # Their NVMe storage is encrypted in hardware; SageMaker rejects a VolumeKmsKeyId for them.
    assert sdk.volume_kms_key(instance_type) is None
