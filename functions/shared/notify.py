"""SNS notifications for people: a short subject and a readable JSON body."""

from __future__ import annotations

import json
from typing import Any

from functions.shared.clients import client
from functions.shared.observability import count, logger


def notify(topic_arn: str, subject: str, message: dict[str, Any]) -> None:
    # SNS subjects: ASCII, no newlines, at most 100 characters.
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in subject)[:100]
    client("sns").publish(
        TopicArn=topic_arn,
        Subject=clean,
        Message=json.dumps(message, indent=2, default=str),
    )
    logger.info("notification sent", extra={"subject": clean, "kind": message.get("kind")})
    count("NotificationSent", reason=str(message.get("kind", "other")))


def region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def registry_link(region: str, group: str, version: int | str) -> str:
    """Console link to a model package version in the SageMaker model registry."""
    return (
        f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
        f"#/model-registry/{group}/versions/{version}"
    )
