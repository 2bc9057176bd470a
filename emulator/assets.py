"""Publish the stack's file assets into moto, as `cdk deploy` does to the bootstrap bucket.

The templates point at assets by bucket and key (the pipeline code bundle is `${CodeBundleUri}`);
the asset manifest next to the template says which local file goes where.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any


class AssetError(ValueError):
    """An asset the manifest names is missing from cdk.out or has an unknown packaging."""


def _placeholders(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", "aws")
    )


def publish_assets(cdk_out: Path, stack_name: str, s3: Any, *, account: str, region: str) -> int:
    """Upload every file asset of `stack_name`; returns how many objects were written."""
    manifest_path = cdk_out / f"{stack_name}.assets.json"
    if not manifest_path.exists():
        raise AssetError(f"{manifest_path} not found: synthesize the stack first")
    manifest = json.loads(manifest_path.read_text())
    written = 0
    existing: set[str] = set()
    for asset_id, asset in manifest.get("files", {}).items():
        source = cdk_out / asset["source"]["path"]
        if not source.exists():
            raise AssetError(f"asset {asset_id} ({asset.get('displayName')}): {source} is missing")
        for destination in asset["destinations"].values():
            bucket = _placeholders(destination["bucketName"], account, region)
            key = _placeholders(destination["objectKey"], account, region)
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
                existing.add(bucket)
            _upload(s3, source, asset["source"].get("packaging", "file"), bucket, key)
            written += 1
    return written


def _upload(s3: Any, source: Path, packaging: str, bucket: str, key: str) -> None:
    if packaging == "file":
        s3.upload_file(str(source), bucket, key)
    elif packaging == "zip":
        with tempfile.TemporaryDirectory() as scratch:
            archive = shutil.make_archive(str(Path(scratch) / "asset"), "zip", source)
            s3.upload_file(archive, bucket, key)
    else:
        raise AssetError(f"asset {source.name}: packaging {packaging!r} is not supported")
