"""Span recording for the tracing tests: an SDK TracerProvider with an in-memory exporter,
one per side (the SDK's, the coordinator's), so that the two share nothing but the wire."""

from __future__ import annotations

import dataclasses

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from threadlock_client import _tracing


@dataclasses.dataclass
class Side:
    provider: TracerProvider
    exporter: InMemorySpanExporter

    @staticmethod
    def make() -> Side:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return Side(provider, exporter)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]


def record_sdk(monkeypatch: pytest.MonkeyPatch) -> Side:
    """The SDK's spans, recorded by a provider of this test's own (the `sdk` fixture)."""
    side = Side.make()
    monkeypatch.setattr(_tracing, "provider", lambda: side.provider)
    return side
