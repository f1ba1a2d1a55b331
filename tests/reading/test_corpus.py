"""Every labelled case in the corpus is rated as its label says, by the example policy."""

from __future__ import annotations

import pytest

from tests.reading.corpus import Case, cases, holds, rate


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_case_is_rated_as_labelled(case: Case) -> None:
    decision = rate(case)
    assert holds(case, decision), (case.data, decision.risk, decision.risk_reasons)


def test_corpus_is_large_and_labelled() -> None:
    labels = [c.expect for c in cases()]
    assert len(labels) >= 400
    assert set(labels) <= {"destructive", "opaque", "benign", "auto", "not-auto"}
    assert {"destructive", "opaque", "benign", "auto", "not-auto"} <= set(labels)
