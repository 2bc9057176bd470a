"""`LocalRuntime(enforce_iam=False)` turns the runtime's IAM off: a call the template does not
grant goes through to the service."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from test_authorizer import _deploy_role_client, _without_grants

from emulator.bus import EXACTLY_ONCE
from emulator.runtime import LocalRuntime, SynthesizedStack


@pytest.fixture(scope="module")
def unenforced(synthesize, tmp_path_factory):
    dev = synthesize("dev")
    stack = SynthesizedStack(dev.name, _without_grants(dev.raw), dev.outdir)
    with LocalRuntime(
        stack=stack,
        scratch_dir=tmp_path_factory.mktemp("unenforced"),
        delivery=EXACTLY_ONCE,
        enforce_iam=False,
    ) as started:
        yield started


def test_without_enforcement_an_ungranted_call_reaches_the_service(unenforced):
    sagemaker, _, _ = _deploy_role_client(unenforced, "sagemaker")
    assert unenforced.authorizer is None
    variant = {"VariantName": "blue", "ModelName": "no-such-model"}
    try:
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{unenforced.endpoint_name}-v1", ProductionVariants=[variant]
        )
    except ClientError as exc:  # SageMaker may refuse the content, never the caller
        assert exc.response["Error"]["Code"] != "AccessDeniedException"
    with pytest.raises(RuntimeError, match="enforce_iam=True"):
        unenforced.unused_grants()
