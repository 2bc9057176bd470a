"""The common 'nothing to do' outcome: logged with its reason, counted, returned."""

from __future__ import annotations

from typing import Any

from functions.shared.observability import count, logger


def ignored(reason: str, **context: Any) -> dict[str, Any]:
    logger.info("event ignored", extra={"reason": reason, **context})
    count("EventIgnored", reason=reason)
    return {"status": "ignored", "reason": reason}
