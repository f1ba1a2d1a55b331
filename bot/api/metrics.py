"""Prometheus metrics, read from Redis at scrape time so every replica reports the same truth."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.models import ApprovalRequest, Risk, Status
from bot.runtime import Runtime

DECISION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Gauge(
            "countersign_requests", "Stored requests by status", ["status"], registry=self.registry
        )
        self.by_risk = Gauge(
            "countersign_requests_by_risk",
            "Stored requests by risk",
            ["risk"],
            registry=self.registry,
        )
        self.pending = Gauge(
            "countersign_pending_requests",
            "Requests waiting for a decision",
            registry=self.registry,
        )
        self.outbox = Gauge(
            "countersign_outbox_jobs",
            "Outbox jobs by sink and state",
            ["sink", "state"],
            registry=self.registry,
        )
        self.time_to_decision = Histogram(
            "countersign_time_to_decision_seconds",
            "Seconds from request to a human decision (this replica)",
            ["status", "risk"],
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )

    def observe_decision(self, request: ApprovalRequest) -> None:
        if request.decided_at is None:
            return
        seconds = (request.decided_at - request.created_at).total_seconds()
        self.time_to_decision.labels(request.status.value, request.risk.value).observe(seconds)


async def render_metrics(runtime: Runtime) -> tuple[bytes, str]:
    metrics: Metrics = runtime.extras["metrics"]
    for status in Status:
        metrics.requests.labels(status.value).set(
            await runtime.store.count(runtime.keys.by_status(status.value))
        )
    for risk in Risk:
        metrics.by_risk.labels(risk.value).set(
            await runtime.store.count(runtime.keys.by_risk(risk.value))
        )
    metrics.pending.set(await runtime.store.count(runtime.keys.by_status("pending")))
    for sink, counts in (await runtime.outbox.backlog()).items():
        for state, value in counts.items():
            metrics.outbox.labels(sink, state).set(value)
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST
