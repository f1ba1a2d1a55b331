"""Risk reading: what policy evaluation costs, and how well it reads the labelled corpora.

Timed in-process (no server, no Redis): `Policy.evaluate` on the example policy for a typical
request, a 64 KiB script, a 64 KiB hostile command (tree-sitter's error recovery is what the
budget bounds), a 1 MiB code diff and a 1 MiB SQL migration. The baseline in the same run is
what every request pays before policy: `RequestIn` validation and its `action_hash`.

The corpora are the labelled cases under `tests/reading/`: `corpus/` (written with the
reading, so it is training data) and `holdout/` (written by a red team that saw neither the
catalog nor the corpus; its first-pass figures are kept in `bench/notes.py`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.models import RequestIn, Risk
from bot.policy import READING_SECONDS, Policy

ROOT = Path(__file__).resolve().parents[1]
TYPICAL = {
    "action": "deploy.rollout",
    "summary": "Roll out web 2.4.1",
    "resource": "deploy/web",
    "environment": "staging",
    "command": "kubectl -n web set image deploy/web web=registry/web:2.4.1 && "
    "kubectl -n web rollout status deploy/web --timeout=120s",
    "scope": {"permissions": ["apps/deployments:patch"], "resources": ["deploy/web"]},
    "params": {"image": "registry/web:2.4.1", "replicas": 3},
}


@dataclass
class Timing:
    name: str
    seconds: list[float]
    risk: str
    reasons: int

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


@dataclass
class CorpusScore:
    name: str
    dangerous: int = 0
    caught: int = 0
    benign: int = 0
    false_alarms: int = 0
    auto_cases: int = 0
    auto_right: int = 0
    wrongly_auto: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.dangerous if self.dangerous else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.benign if self.benign else 0.0


@dataclass
class ReadingResult:
    timings: list[Timing]
    baseline: Timing
    corpora: list[CorpusScore]
    budget: float = READING_SECONDS


def run(samples: int = 2000) -> ReadingResult:
    policy = Policy.load(ROOT / "config")
    typical = RequestIn.model_validate(TYPICAL)
    timings = [_time("typical request", lambda: policy.evaluate(typical, "bench"), samples)]
    for name, request in _large().items():
        timings.append(_time(name, lambda r=request: policy.evaluate(r, "bench"), 5))
    raw = json.dumps(TYPICAL)
    baseline = _time(
        "baseline: validate + action_hash",
        lambda: RequestIn.model_validate_json(raw).action_hash(),
        samples,
    )
    corpora = [score(name, policy) for name in ("corpus", "holdout")]
    return ReadingResult(timings, baseline, corpora)


def _time(name: str, call: Callable[[], Any], samples: int) -> Timing:
    call()  # warm
    seconds, result = [], None
    for _ in range(samples):
        began = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - began)
    risk = getattr(result, "risk", "")
    reasons = len(getattr(result, "risk_reasons", []))
    return Timing(name, seconds, str(risk), reasons)


def _large() -> dict[str, RequestIn]:
    script = "\n".join(
        f"kubectl -n web get pods -l app=web-{n} -o wide | grep -v Completed" for n in range(1000)
    )[: 64 * 1024]
    code_diff = "\n".join(f"+    total += item_{n}.price * qty  # line {n}" for n in range(24_000))
    sql = "\n".join(
        f"INSERT INTO orders (id, sku, qty) VALUES ({n}, 'sku-{n}', {n % 7});"
        for n in range(16_000)
    )
    sql_diff = "--- /dev/null\n+++ b/migrations/0042_seed.sql\n" + "\n".join(
        "+" + line for line in sql.splitlines()
    )
    base = {"action": "deploy.rollout", "summary": "large", "environment": "staging"}
    return {
        "64 KiB script (1,000 pipelines)": RequestIn(**base, command=script),
        "64 KiB hostile command (`&<>` x 21,000)": RequestIn(
            **base, command="echo " + "&<>" * 21_000
        ),
        "1 MiB code diff": RequestIn(**base, diff=_cap(code_diff)),
        "1 MiB SQL migration diff": RequestIn(**base, diff=_cap(sql_diff)),
    }


def _cap(text: str, limit: int = 1024 * 1024) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def score(name: str, policy: Policy) -> CorpusScore:
    """Recall on destructive and unreadable cases, false alarms on benign ones, and
    auto-approval right or wrong, for one folder of labelled cases."""
    result = CorpusScore(name)
    for path in sorted((ROOT / "tests" / "reading" / name).glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            _score_case(result, case, policy)
    return result


def _score_case(result: CorpusScore, case: dict[str, Any], policy: Policy) -> None:
    request = RequestIn(
        action=case.get("action", "shell.exec"),
        summary="corpus case",
        environment=case.get("environment", "dev"),
        command=case.get("command") or case.get("argv") or "",
        params=case.get("params") or {},
        diff=case.get("diff") or "",
    )
    decision = policy.evaluate(request, "corpus-bot")
    high = decision.risk.rank >= Risk.high.rank
    expect = case["expect"]
    if expect in ("destructive", "opaque"):
        result.dangerous += 1
        result.caught += high
        if not high:
            result.misses.append(str(case.get("command") or case.get("note") or "")[:80])
    elif expect == "benign":
        result.benign += 1
        result.false_alarms += high
    else:
        result.auto_cases += 1
        result.auto_right += decision.auto_approve is (expect == "auto")
        result.wrongly_auto += decision.auto_approve and expect == "not-auto"


def median(timing: Timing) -> float:
    return statistics.median(timing.seconds)
