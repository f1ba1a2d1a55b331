"""The hold-out cases, written by red teams that saw neither the catalog nor the corpus.

Each set was measured once, unseen, before anything was changed because of it (figures in
`bench/notes.py`); the cases below that policy still rates differently from their labels are
listed as known misses, so that fixing one shows up as an unexpected pass.
"""

from __future__ import annotations

import pytest

from tests.reading.corpus import Case, cases, holds, rate

KNOWN_MISSES = {
    # A DELETE with a real WHERE (through a CTE) is a change, not destructive, by our rules.
    "holdout[85]": "DELETE ... USING stale WHERE users.id = stale.id reads as mutating",
    # Deleting a source file that enforces authentication: no reading of code semantics.
    "holdout2[118]": "auth middleware deleted",
}


def known_miss(case: Case) -> str | None:
    return next((why for key, why in KNOWN_MISSES.items() if case.id.startswith(key)), None)


def params() -> list[object]:
    marked: list[object] = []
    for case in cases("holdout"):
        why = known_miss(case)
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        marked.append(pytest.param(case, id=case.id, marks=marks))
    return marked


@pytest.mark.parametrize("case", params())
def test_holdout_case_is_rated_as_labelled(case: Case) -> None:
    decision = rate(case)
    assert holds(case, decision), (case.data, decision.risk, decision.risk_reasons)
