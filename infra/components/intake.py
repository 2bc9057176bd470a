"""Data intake: the function that checks each arriving object, quarantines the bad ones with
their reason, and starts training on the good ones."""

from __future__ import annotations

from constructs import Construct

from infra import contracts
from infra.components.component import Component
from infra.components.foundation import Foundation
from infra.components.training import Training
from infra.constructs import access
from infra.constructs.functions import LoopFunction
from infra.names import INCOMING_PREFIX, QUARANTINE_PREFIX


class DataIntake(Component):
    def __init__(
        self, scope: Construct, construct_id: str, *, base: Foundation, training: Training
    ) -> None:
        super().__init__(scope, construct_id)
        data = base.storage.data_bucket
        self.data_arrival = LoopFunction(
            self,
            "DataArrival",
            platform=base.platform,
            name="data_arrival",
            description="Checks arriving data, quarantines bad files, starts training",
            settings=contracts.data_arrival_settings(base.config, base.deployed),
            # CPU comes with memory (about 0.6 vCPU at 1024 MB): a gzip object is decompressed
            # whole to count its true size, up to data.max_uncompressed_mb within the timeout.
            # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
            memory_size=1024,
        )
        self.data_arrival.grant(
            *training.start_statements,
            # HeadObject and a ranged GetObject of the event's version; CopyObject's source.
            access.objects(data, access.READ_VERSIONS, f"{INCOMING_PREFIX}*"),
            # A missing key must read as 404 (ignored), not 403 (a failed invocation).
            access.listing(data),
            access.objects(data, access.WRITE, f"{QUARANTINE_PREFIX}*"),
            # A delete marker (DeleteObject without a VersionId); the version itself is kept.
            access.objects(data, ("s3:DeleteObject",), f"{INCOMING_PREFIX}*"),
        )
