"""The labelled corpus in `corpus/*.yaml`, rated by the example policy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.models import PolicyDecision, RequestIn, Risk
from bot.policy import Policy
from bot.reading.findings import unlimited

HERE = Path(__file__).parent
CONFIG = Path(__file__).parents[2] / "config"
DANGEROUS = ("destructive", "opaque")


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    data: dict[str, Any]

    @property
    def expect(self) -> str:
        return str(self.data["expect"])

    @property
    def id(self) -> str:
        shown = self.data.get("command") or self.data.get("argv") or self.data.get("note") or ""
        return f"{self.file}[{self.index}] {str(shown)[:60]}"

    def request(self) -> RequestIn:
        return RequestIn(
            action=self.data.get("action", "shell.exec"),
            summary="corpus case",
            environment=self.data.get("environment", "dev"),
            command=self.data.get("command") or self.data.get("argv") or "",
            params=self.data.get("params") or {},
            diff=self.data.get("diff") or "",
        )


@cache
def cases(folder: str = "corpus") -> list[Case]:
    """The labelled cases of one folder: `corpus` (written with the reading) or `holdout`
    (written by red teams that saw neither the catalog nor the corpus)."""
    found: list[Case] = []
    for path in sorted((HERE / folder).glob("*.yaml")):
        for index, data in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))):
            found.append(Case(path.stem, index, data))
    return found


@cache
def policy() -> Policy:
    return Policy.load(CONFIG)


def rate(case: Case) -> PolicyDecision:
    return policy().evaluate(case.request(), "corpus-bot", unlimited())


def holds(case: Case, decision: PolicyDecision) -> bool:
    """Whether the example policy rated the case as its label says."""
    high = decision.risk.rank >= Risk.high.rank
    says = str(case.data.get("says", "")).lower()
    reasons = " ".join(decision.risk_reasons).lower()
    if case.expect in DANGEROUS:
        return high and says in reasons
    if case.expect == "benign":
        return not high
    return decision.auto_approve is (case.expect == "auto")
