"""A tiny OTLP/gRPC trace receiver on loopback, for tests of a `threadlock serve` process that
exports its spans (the in-memory exporter of another process is out of reach). It implements
the real opentelemetry.proto TraceService, so the OTLP exporter talks to it as to a collector.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc.aio
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as tgrpc


@dataclass(frozen=True)
class Received:
    """One exported span, flattened: ids as hex, attributes as plain values."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]


def _value(v: Any) -> Any:
    which = v.WhichOneof("value")
    return getattr(v, which) if which else None


class Receiver(tgrpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.arrived = asyncio.Event()
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def Export(self, request: tpb.ExportTraceServiceRequest,
                     context: Any) -> tpb.ExportTraceServiceResponse:
        for rs in request.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    self.spans.append(Received(
                        s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(),
                        s.kind, {a.key: _value(a.value) for a in s.attributes}, resource))
        self.arrived.set()
        return tpb.ExportTraceServiceResponse()

    async def start(self) -> Receiver:
        self.server = grpc.aio.server()
        tgrpc.add_TraceServiceServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(None)
