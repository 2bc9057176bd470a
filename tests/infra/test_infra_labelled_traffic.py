"""retrain.labelled_traffic in the template: on (the `labelled` config), drift_retrain may list
the endpoint's capture and ground-truth folders and the pipeline role may read their versions,
and nothing wider; off (dev, prod), neither role holds either grant."""

from __future__ import annotations

import pytest


def _role_id(synthesized, role_name: str) -> str:
    for logical_id, role in synthesized.resources("AWS::IAM::Role").items():
        if role["Properties"].get("RoleName") == role_name:
            return logical_id
    for fn in synthesized.resources("AWS::Lambda::Function").values():
        if fn["Properties"]["FunctionName"] == role_name:
            return fn["Properties"]["Role"]["Fn::GetAtt"][0]
    raise AssertionError(f"no role for {role_name}")


def _statements(synthesized, role_id: str) -> list[dict]:
    return [
        synthesized.resolved(s)
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _grants(synthesized) -> tuple[list[tuple], list[tuple]]:
    """(drift_retrain's ListBucketVersions prefixes, the pipeline role's GetObjectVersion
    resources) as (bucket ARN, prefix pattern) pairs."""
    prefix = synthesized.config.prefix
    listing = [
        (resource, pattern)
        for s in _statements(synthesized, _role_id(synthesized, f"{prefix}-drift-retrain"))
        if "s3:ListBucketVersions" in _list(s["Action"])
        for resource in _list(s["Resource"])
        for pattern in s["Condition"]["StringLike"]["s3:prefix"]
    ]
    reads = [
        resource
        for s in _statements(synthesized, _role_id(synthesized, f"{prefix}-sagemaker"))
        if "s3:GetObjectVersion" in _list(s["Action"])
        for resource in _list(s["Resource"])
    ]
    return listing, reads


def test_on_the_roles_reach_exactly_the_endpoints_capture_and_labels(labelled):
    data = f"arn:aws:s3:::{labelled.config.names.bucket('data', '123456789012', 'us-east-1')}"
    endpoint = labelled.config.names.endpoint
    listing, reads = _grants(labelled)
    assert sorted(listing) == sorted(
        [
            (data, "incoming/*"),
            (data, f"capture/{endpoint}/*"),
            (data, f"ground-truth/{endpoint}/*"),
        ]
    )
    assert sorted(r for r in reads if not r.startswith(f"{data}/incoming/")) == sorted(
        [f"{data}/capture/{endpoint}/*", f"{data}/ground-truth/{endpoint}/*"]
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_off_neither_role_reaches_capture_or_labels(request, stage):
    synthesized = request.getfixturevalue(stage)
    data = f"arn:aws:s3:::{synthesized.config.names.bucket('data', '123456789012', 'us-east-1')}"
    listing, reads = _grants(synthesized)
    assert listing == [(data, "incoming/*")]
    assert reads == [f"{data}/incoming/*"]


@pytest.mark.parametrize(("stage", "days"), [("labelled", "14"), ("dev", "0"), ("prod", "0")])
def test_drift_retrain_reads_the_look_back_from_its_environment(request, stage, days):
    synthesized = request.getfixturevalue(stage)
    name = f"{synthesized.config.prefix}-drift-retrain"
    [env] = [
        f["Properties"]["Environment"]["Variables"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == name
    ]
    endpoint = synthesized.config.names.endpoint
    assert env["LABELLED_TRAFFIC_DAYS"] == days
    assert env["LABELLED_CAPTURE_PREFIX"] == f"capture/{endpoint}/"
    assert env["LABELLED_GROUND_TRUTH_PREFIX"] == f"ground-truth/{endpoint}/"
