"""Validate's input: exactly the object versions of the run's manifest, read by VersionId.

A ProcessingInput names keys, never versions: a key prefix, or a manifest file "containing a
list of object keys" (S3DataType in
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html), so
SageMaker downloads the objects as they are when the job starts. A run is decided earlier,
and what is under `incoming/` changes meanwhile: arrivals still being checked, objects
quarantined, overwritten or deleted. So Validate gets no data input: it reads the manifest and
GETs each (key, VersionId) itself, with the job's role, which needs
s3:GetObjectVersion for that (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
"Versioning"). In a versioned bucket a version stays readable after its key is overwritten or
deleted (a delete marker), so the run reads what it was decided on. A version that is gone
(permanently deleted) is recorded as not read, with the reason, and is not in the lineage.
Preprocess and Baseline read only Validate's output, so they read these versions and no other.

A run started without a manifest (by hand, e.g. from Studio) lists the current objects under
`--input-uri` when Validate starts and records the version each GET returned.
`--input DIR` validates files already on disk, without S3 (a run of the step by hand).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.entrypoints.common import s3_client, split_s3_uri
from pipelines.steps.tabular import find_data_files

# GetObject of a version that no longer exists: NoSuchVersion (404); of a version that is a
# delete marker: MethodNotAllowed (405); of a key without versions: NoSuchKey.
_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound", "MethodNotAllowed", "405"})
_UNSAFE_NAME = re.compile(r"[^\w.\-]")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataObject:
    """One object version a run is meant to read (a manifest entry)."""

    bucket: str
    key: str
    version_id: str | None = None
    size: int | None = None
    etag: str = ""
    event_id: str = ""
    event_time: str = ""

    @property
    def name(self) -> str:
        """What violations and reports call it."""
        return f"s3://{self.bucket}/{self.key}" if self.bucket else self.key

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> DataObject:
        version = entry.get("version_id")
        return cls(
            bucket=entry["bucket"],
            key=entry["key"],
            version_id=None if version in (None, "", "null") else str(version),
            size=entry.get("size"),
            etag=str(entry.get("etag") or ""),
            event_id=str(entry.get("event_id") or ""),
            event_time=str(entry.get("event_time") or ""),
        )


@dataclass
class RunData:
    """What Validate read (each object with its local copy) and what it could not read."""

    manifest_uri: str
    trigger: dict[str, Any] = field(default_factory=dict)
    read: list[tuple[DataObject, Path]] = field(default_factory=list)
    sha256: dict[Path, str] = field(default_factory=dict)
    not_read: list[tuple[DataObject, str]] = field(default_factory=list)
    # The manifest's `labelled_traffic` (retrain.labelled_traffic): read by labelled_input.py.
    labelled_traffic: dict[str, Any] | None = None

    @property
    def files(self) -> list[tuple[str, Path]]:
        """(object name, local path) of every object read: the step's input."""
        return [(obj.name, path) for obj, path in self.read]

    def record(self) -> dict[str, Any]:
        """`data_objects.json`: the manifest of what this run read (the objects its lineage
        names), and what it was given but could not read."""
        return {
            "manifest_uri": self.manifest_uri,
            "trigger": self.trigger,
            "objects": [
                {**asdict(obj), "sha256": self.sha256.get(path, "")} for obj, path in self.read
            ],
            "not_read": [{**asdict(obj), "reason": reason} for obj, reason in self.not_read],
        }


def local_name(index: int, key: str) -> str:
    """A file name for the index-th object: unique, safe, and ending like the key (the reader
    tells CSV, gzip and Parquet apart by the name's end, in any case)."""
    base = _UNSAFE_NAME.sub("_", key.rsplit("/", 1)[-1]).lstrip(".") or "object"
    return f"{index:06d}-{base[-200:]}"


def load_manifest(uri: str, s3: Any) -> tuple[dict[str, Any], list[DataObject]]:
    """The manifest, and its objects."""
    bucket, key = split_s3_uri(uri)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    objects = [DataObject.from_entry(o) for o in manifest.get("objects", [])]
    return manifest, objects


def list_current(input_uri: str, s3: Any) -> list[DataObject]:
    """The current objects under a prefix (no version: the GET records the one it read)."""
    bucket, prefix = split_s3_uri(input_uri)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [
        DataObject(bucket=bucket, key=o["Key"], size=o.get("Size"))
        for page in pages
        for o in page.get("Contents", [])
        if not o["Key"].endswith("/")
    ]


def fetch(objects: list[DataObject], dest: Path, s3: Any, run: RunData) -> RunData:
    """GET each object's version into `dest`; a version that is gone goes to `not_read`."""
    from botocore.exceptions import ClientError

    dest.mkdir(parents=True, exist_ok=True)
    for index, obj in enumerate(objects):
        params = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            params["VersionId"] = obj.version_id
        path = dest / local_name(index, obj.key)
        try:
            response = s3.get_object(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in _GONE:
                raise
            run.not_read.append((obj, f"{code}: version {obj.version_id} no longer exists"))
            continue
        digest = hashlib.sha256()
        with path.open("wb") as out:
            for chunk in response["Body"].iter_chunks(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        read = DataObject(
            bucket=obj.bucket,
            key=obj.key,
            version_id=response.get("VersionId") or obj.version_id,
            size=path.stat().st_size,
            etag=str(response.get("ETag", "")).strip('"') or obj.etag,
            event_id=obj.event_id,
            event_time=obj.event_time,
        )
        run.read.append((read, path))
        run.sha256[path] = digest.hexdigest()
    return run


def local_files(root: Path) -> RunData:
    """Files already on disk, named by their path under `root`."""
    run = RunData(manifest_uri="", trigger={})
    for path in find_data_files(root):
        name = str(path.relative_to(root)) if path != root else path.name
        run.read.append((DataObject(bucket="", key=name, size=path.stat().st_size), path))
        run.sha256[path] = _sha(path)
    return run


def gather(*, manifest_uri: str, input_uri: str, local_input: Path | None, dest: Path) -> RunData:
    """The run's data: the manifest's versions, else the files in `local_input`, else the
    current objects under `input_uri`."""
    if manifest_uri:
        s3 = s3_client()
        manifest, objects = load_manifest(manifest_uri, s3)
        run = RunData(
            manifest_uri=manifest_uri,
            trigger=manifest.get("trigger", {}),
            labelled_traffic=manifest.get("labelled_traffic"),
        )
        return fetch(objects, dest, s3, run)
    if local_input is not None:
        return local_files(local_input)
    if not input_uri:
        raise ValueError("no data: give --manifest-uri, --input-uri or --input")
    s3 = s3_client()
    run = RunData(manifest_uri="", trigger={"event_type": "manual"})
    return fetch(list_current(input_uri, s3), dest, s3, run)


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
