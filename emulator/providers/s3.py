"""S3: every object written or deleted through the S3 API becomes its EventBridge event.

S3 sends `Object Created` / `Object Deleted` to EventBridge for buckets with EventBridge
notifications on (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html). moto
keeps the setting but neither reports it (`GetBucketNotificationConfiguration` drops it) nor
delivers such events to anything but SQS and Logs, so this provider watches the setting as it is
put, answers for it in `GetBucketNotificationConfiguration`, and builds each event from the write
request and moto's answer: one event per write, whichever client wrote.

Bucket policies are kept here too, not in moto: moto applies a policy's Deny statements without
evaluating their conditions, so the SSL-only statement every bucket of the stack carries
(`aws:SecureTransport: false`) would deny every request. The runtime's authorizer evaluates them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from emulator.aws_events import s3_object_event
from emulator.front import Front, Reply, ServiceError
from emulator.requests import AwsRequest

_NS = re.compile(r"^\{[^}]*\}")
_WRITES = ("PutObject", "CopyObject", "CompleteMultipartUpload")


def _local(tag: str) -> str:
    return _NS.sub("", tag)


class S3Provider:
    def __init__(self, cloud: Any, emit: Callable[[dict[str, Any]], None]) -> None:
        self.cloud = cloud
        self.emit = emit
        self.eventbridge_buckets: set[str] = set()
        self.policies: dict[str, str] = {}  # bucket -> policy document

    def install(self, front: Front) -> None:
        for operation in _WRITES:
            front.observe("s3", operation, self._written)
        front.observe("s3", "DeleteObject", self._deleted)
        front.observe("s3", "DeleteObjects", self._deleted_many)
        front.observe("s3", "PutBucketNotificationConfiguration", self._notification_put)
        front.observe("s3", "DeleteBucket", self._bucket_deleted)
        front.own("s3", "GetBucketNotificationConfiguration", self._notification_get(front))
        front.own("s3", "PutBucketPolicy", self._put_policy)
        front.own("s3", "GetBucketPolicy", self._get_policy)
        front.own("s3", "DeleteBucketPolicy", self._delete_policy)

    # -- bucket policies -------------------------------------------------------------------

    def _put_policy(self, request: AwsRequest) -> Reply:
        bucket = request.params["Bucket"]
        self._bucket_exists(bucket)
        try:
            json.loads(request.body)
        except ValueError as exc:
            raise ServiceError("MalformedPolicy", f"Policies must be valid JSON: {exc}") from exc
        self.policies[bucket] = request.body.decode()
        return Reply(204)

    def _get_policy(self, request: AwsRequest) -> Reply:
        bucket = request.params["Bucket"]
        self._bucket_exists(bucket)
        if bucket not in self.policies:
            raise ServiceError("NoSuchBucketPolicy", "The bucket policy does not exist", 404)
        return Reply(200, {"Content-Type": "application/json"}, self.policies[bucket].encode())

    def _delete_policy(self, request: AwsRequest) -> Reply:
        bucket = request.params["Bucket"]
        self._bucket_exists(bucket)
        self.policies.pop(bucket, None)
        return Reply(204)

    def _bucket_exists(self, bucket: str) -> None:
        s3 = self.cloud.moto_client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except s3.exceptions.ClientError as exc:
            raise ServiceError("NoSuchBucket", "The specified bucket does not exist", 404) from exc

    # -- the EventBridge setting -----------------------------------------------------------

    def _notification_put(self, request: AwsRequest, reply: Reply) -> None:
        bucket = request.params["Bucket"]
        try:
            root = ET.fromstring(request.body or b"<NotificationConfiguration/>")
        except ET.ParseError:
            return
        if any(_local(child.tag) == "EventBridgeConfiguration" for child in root):
            self.eventbridge_buckets.add(bucket)
        else:
            self.eventbridge_buckets.discard(bucket)

    def _bucket_deleted(self, request: AwsRequest, reply: Reply) -> None:
        self.eventbridge_buckets.discard(request.params["Bucket"])
        self.policies.pop(request.params["Bucket"], None)

    def _notification_get(self, front: Front) -> Callable[[AwsRequest], Reply]:
        def answer(request: AwsRequest) -> Reply:
            reply = front.forward(request.environ)
            if reply.ok and request.params["Bucket"] in self.eventbridge_buckets:
                body = reply.body.decode() if reply.body else ""
                if "<NotificationConfiguration" not in body:
                    body = '<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>'
                body = body.replace(
                    "</NotificationConfiguration>",
                    "<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>",
                )
                body = re.sub(
                    r"<NotificationConfiguration([^>]*)/>",
                    r"<NotificationConfiguration\1><EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>",
                    body,
                )
                reply = Reply(
                    reply.status,
                    {**reply.headers, "Content-Type": "application/xml"},
                    body.encode(),
                )
            return reply

        return answer

    # -- object events ---------------------------------------------------------------------

    def _emit(self, request: AwsRequest, **fields: Any) -> None:
        self.emit(
            s3_object_event(
                operation=request.operation,
                account=self.cloud.account,
                region=self.cloud.region,
                source_ip=request.headers.get("x-forwarded-for", "127.0.0.1"),
                **fields,
            )
        )

    def _written(self, request: AwsRequest, reply: Reply) -> None:
        bucket, key = request.params["Bucket"], request.params["Key"]
        if bucket not in self.eventbridge_buckets:
            return
        version = _header(reply, "x-amz-version-id")
        args = {"Bucket": bucket, "Key": key}
        if version:
            args["VersionId"] = version
        head = self.cloud.client("s3").head_object(**args)
        self._emit(
            request,
            bucket=bucket,
            key=key,
            version_id=version,
            size=int(head.get("ContentLength", 0)),
            etag=head.get("ETag"),
        )

    def _deleted(self, request: AwsRequest, reply: Reply) -> None:
        bucket, key = request.params["Bucket"], request.params["Key"]
        if bucket in self.eventbridge_buckets:
            marker = _header(reply, "x-amz-delete-marker") == "true"
            self._emit(
                request,
                bucket=bucket,
                key=key,
                version_id=_header(reply, "x-amz-version-id"),
                delete_marker=marker,
            )

    def _deleted_many(self, request: AwsRequest, reply: Reply) -> None:
        bucket = request.params["Bucket"]
        if bucket not in self.eventbridge_buckets:
            return
        for deleted in ET.fromstring(reply.body).iter():
            if _local(deleted.tag) != "Deleted":
                continue
            fields = {_local(child.tag): (child.text or "") for child in deleted}
            marker = fields.get("DeleteMarker") == "true"
            version = fields.get("DeleteMarkerVersionId") if marker else fields.get("VersionId")
            self._emit(
                request,
                bucket=bucket,
                key=fields.get("Key", ""),
                version_id=version or None,
                delete_marker=marker,
            )


def _header(reply: Reply, name: str) -> str | None:
    for key, value in reply.headers.items():
        if key.lower() == name:
            return value
    return None
