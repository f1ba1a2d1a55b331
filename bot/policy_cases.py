"""Policy test cases: the file `countersign policy test` reads, and how each case is judged.

The file is YAML: a list of cases, or a mapping with `cases:`. Each case names a request (as
for `POST /v1/requests`), the agent asking (default `cli`) and what policy should conclude:

    - name: a deploy to staging needs one approval
      agent: deploy-bot
      request: {action: deploy.service, summary: Deploy web, environment: staging}
      expect: {risk: medium, rule: deploys, approvals: 1, outcome: needs approval}

Every `expect` key is optional, but a case names at least one. `outcome` is what policy
alone decides: `approved`, `needs approval` or `denied`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError
from bot.models import PolicyDecision, RequestIn, Risk
from bot.outcomes import Outcome, outcome_of
from bot.policy import Policy


class CaseFileError(ConfigError):
    """A test file that cannot be read or is not valid; each problem names its place."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: {'; '.join(problems)}")
        self.path = path
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """What policy should conclude; a key left out is not checked."""

    risk: Risk | None = None
    rule: str | None = Field(default=None, min_length=1)
    approvals: int | None = Field(default=None, ge=1)
    outcome: Outcome | None = None

    @model_validator(mode="after")
    def _names_something(self) -> Expect:
        if not self.wanted():
            raise ValueError("name at least one of risk, rule, approvals, outcome")
        return self

    def wanted(self) -> dict[str, Any]:
        """The expected values by field, in the order they are reported."""
        return self.model_dump(exclude_none=True)


class Case(_Strict):
    name: str = Field(min_length=1, max_length=200)
    agent: str = Field(default="cli", min_length=1, max_length=100)
    request: RequestIn
    expect: Expect


class CaseFile(_Strict):
    cases: list[Case] = Field(min_length=1)

    @field_validator("cases")
    @classmethod
    def _unique_names(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in cases:
            if case.name in seen:
                raise ValueError(f"case names must be unique; {case.name!r} is used twice")
            seen.add(case.name)
        return cases


@dataclass(frozen=True)
class Mismatch:
    field: str
    got: str
    expected: str

    def __str__(self) -> str:
        return f"{self.field} {self.got}, expected {self.expected}"


@dataclass(frozen=True)
class Verdict:
    """One case judged: what policy concluded and where that differs from the expectation."""

    case: Case
    decision: PolicyDecision
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def __str__(self) -> str:
        if self.passed:
            return f"ok  {self.case.name}"
        return f"FAIL {self.case.name}: " + "; ".join(map(str, self.mismatches))


def load_cases(path: Path) -> list[Case]:
    """Read and validate a test file; any problem raises CaseFileError naming the place."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseFileError(path, [f"cannot read ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(path, [f"not valid YAML: {exc}"]) from None
    return parse_cases(raw, path)


def parse_cases(raw: Any, path: Path) -> list[Case]:
    """Cases from parsed YAML: a list of them, or a mapping with `cases:`."""
    if isinstance(raw, list):
        raw = {"cases": raw}
    if not isinstance(raw, dict):
        raise CaseFileError(path, ["expected a list of cases, or a mapping with cases:"])
    try:
        return CaseFile.model_validate(raw).cases
    except ValidationError as exc:
        raise CaseFileError(path, _problems(exc, raw)) from None


def _problems(exc: ValidationError, raw: dict[str, Any]) -> list[str]:
    return [f"{_place(error['loc'], raw)}: {error['msg']}" for error in exc.errors()]


def _place(loc: Sequence[int | str], raw: dict[str, Any]) -> str:
    """`cases[2] (deploy to prod).expect.outcome`: the index, the case's name and the field."""
    if len(loc) < 2 or loc[0] != "cases" or not isinstance(loc[1], int):
        return _dotted(loc) or "(top)"
    case = raw["cases"][loc[1]]
    name = case.get("name") if isinstance(case, dict) else None
    head = f"cases[{loc[1]}]" + (f" ({name})" if isinstance(name, str) and name else "")
    rest = _dotted(loc[2:])
    return f"{head}.{rest}" if rest else head


def _dotted(loc: Sequence[int | str]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def judge(case: Case, policy: Policy) -> Verdict:
    """Rate the case's request under `policy` and compare with what the case expects."""
    decision = policy.evaluate(case.request, case.agent)
    got: dict[str, Any] = {
        "risk": decision.risk,
        "rule": decision.rule,
        "approvals": decision.required_approvals,
        "outcome": outcome_of(decision),
    }
    mismatches = tuple(
        Mismatch(field, str(got[field]), str(value))
        for field, value in case.expect.wanted().items()
        if got[field] != value
    )
    return Verdict(case, decision, mismatches)
