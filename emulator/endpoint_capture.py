"""Data capture in SageMaker's format: JSON lines in `<dest>/<endpoint>/<variant>/yyyy/mm/dd/hh/`.

Records are buffered and written as one object per flush (SageMaker also writes batches, a
little after inference); `flush()` makes everything captured so far visible in S3.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulator.pipeline_jobs import split_s3


@dataclass
class CaptureConfig:
    destination: str
    sampling_percent: float
    capture_input: bool
    capture_output: bool
    csv_types: tuple[str, ...]
    json_types: tuple[str, ...]

    @classmethod
    def from_endpoint_config(cls, config: dict[str, Any]) -> CaptureConfig | None:
        capture = config.get("DataCaptureConfig") or {}
        if not capture.get("EnableCapture"):
            return None
        modes = {o.get("CaptureMode") for o in capture.get("CaptureOptions", [])}
        header = capture.get("CaptureContentTypeHeader") or {}
        return cls(
            destination=str(capture["DestinationS3Uri"]).rstrip("/"),
            sampling_percent=float(capture.get("InitialSamplingPercentage", 100)),
            capture_input="Input" in modes or not modes,
            capture_output="Output" in modes or not modes,
            csv_types=tuple(header.get("CsvContentTypes", ["text/csv"])),
            json_types=tuple(header.get("JsonContentTypes", ["application/json"])),
        )

    def encode(self, content_type: str, body: bytes) -> tuple[str, str]:
        """(data, encoding): text as is for the configured CSV/JSON types, else base64."""
        kind = content_type.split(";")[0].strip().lower()
        for encoding, types in (("CSV", self.csv_types), ("JSON", self.json_types)):
            if kind in (t.lower() for t in types):
                try:
                    return body.decode("utf-8"), encoding
                except UnicodeDecodeError:
                    break
        return base64.b64encode(body).decode("ascii"), "BASE64"


@dataclass
class CaptureWriter:
    s3: Any
    endpoint: str
    batch_size: int = 50
    _buffers: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    _seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sampled(self, config: CaptureConfig) -> bool:
        """Deterministic sampling: exactly sampling_percent of the requests, evenly spread."""
        with self._lock:
            n = self._seen
            self._seen += 1
        pct = config.sampling_percent
        return int((n + 1) * pct // 100) > int(n * pct // 100)

    def record(
        self,
        config: CaptureConfig,
        variant: str,
        *,
        request: tuple[str, bytes],
        response: tuple[str, bytes],
        inference_id: str | None = None,
    ) -> None:
        now = datetime.now(UTC)
        capture: dict[str, Any] = {}
        for mode, wanted, (ctype, body) in (
            ("INPUT", config.capture_input, request),
            ("OUTPUT", config.capture_output, response),
        ):
            if wanted:
                data, encoding = config.encode(ctype, body)
                name = "endpointInput" if mode == "INPUT" else "endpointOutput"
                capture[name] = {
                    "observedContentType": ctype,
                    "mode": mode,
                    "data": data,
                    "encoding": encoding,
                }
        metadata = {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        }
        if inference_id:
            metadata["inferenceId"] = inference_id
        line = json.dumps(
            {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"},
            separators=(",", ":"),
        )
        slot = (config.destination, variant, now.strftime("%Y/%m/%d/%H"))
        with self._lock:
            stale = [k for k in self._buffers if k[:2] == slot[:2] and k != slot]
            full = [*stale]
            self._buffers.setdefault(slot, []).append(line)
            if len(self._buffers[slot]) >= self.batch_size:
                full.append(slot)
            batches = [(k, self._buffers.pop(k)) for k in full]
        self._write(batches)

    def flush(self) -> None:
        with self._lock:
            batches = list(self._buffers.items())
            self._buffers.clear()
        self._write(batches)

    def _write(self, batches: list[tuple[tuple[str, str, str], list[str]]]) -> None:
        for (destination, variant, hour), lines in batches:
            if not lines:
                continue
            bucket, prefix = split_s3(destination)
            now = datetime.now(UTC)
            name = f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            key = "/".join(p for p in (prefix, self.endpoint, variant, hour, name) if p)
            self.s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode() + b"\n")
