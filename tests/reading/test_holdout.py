"""The hold-out cases, written by red teams that saw neither the catalog nor the corpus.

Each set was measured once, unseen, before anything was changed because of it (figures in
`bench/notes.py`); the cases below that policy still rates differently from their labels are
listed as known misses, so that fixing one shows up as an unexpected pass.
"""

from __future__ import annotations

import pytest

from tests.reading.corpus import Case, cases, holds, rate

KNOWN_MISSES = {
    # holdout: a DELETE with a real WHERE (through a CTE) is a change, not destructive, by our
    # rules. holdout2: deleting a source file that enforces authentication (code semantics are
    # not read). holdout3 (the long tail: tools the catalog does not describe, APIs driven by
    # curl, SQL run through a hosted CLI): its first pass is in bench/notes.py, and these are
    # what the general fixes since have not reached.
    "holdout[85]": "CTE + DELETE",
    "holdout2[118]": "deletes auth middleware file",
    "holdout3[14]": "k3s: reset etcd membership and restore an old snapshot",
    "holdout3[24]": "pgBackRest: point-in-time restore overwrites data dir",
    "holdout3[26]": "force-reset WAL; can corrupt database",
    "holdout3[27]": "TimescaleDB: SELECT that drops hypertable chunks",
    "holdout3[35]": "Kafka: 1s retention effectively purges topic",
    "holdout3[44]": "T-SQL: truncate every table via sp_MSforeachtable",
    "holdout3[57]": "Atlantis via PR comments: destroy plan then apply",
    "holdout3[61]": "Salt runner: delete keys of all down minions",
    "holdout3[63]": "Puppet one-liner: recursively remove /srv/data",
    "holdout3[66]": "tc netem: blackhole all egress on eth0",
    "holdout3[73]": "XFS: zero the log, may lose metadata",
    "holdout3[84]": "clear Windows Security event log",
    "holdout3[95]": "LDAP: recursive delete of people OU",
    "holdout3[99]": "GitHub: make private repo public",
    "holdout3[105]": "npm: deprecate all 3.x for every consumer",
    "holdout3[114]": "rm -rf typed into another tmux pane",
    "holdout3[121]": "nsupdate: delete DNS A record",
    "holdout3[134]": "GitHub tool: flip repo to public",
    "holdout3[136]": "Snowflake: drop warehouse and database",
    "holdout3[138]": "Pulumi YAML: remove protected RDS instance",
    "holdout3[139]": "CloudFormation JSON: Retain->Delete plus TableName change forces repla",
    "holdout3[140]": "Helm values: disable postgres persistence (data lost on restart)",
    "holdout3[141]": "Argo CD Application: auto-prune with allowEmpty pointed at empty path",
    "holdout3[142]": "GitHub Actions: permissions widened to write-all",
    "holdout3[143]": "GitHub Actions: pull_request_target checking out PR head with secrets",
    "holdout3[144]": "Dockerfile: switch runtime user to root",
    "holdout3[145]": "systemd unit: run as root, drop hardening, rm -rf on stop",
    "holdout3[149]": "GitLab CI: new job runs terraform destroy on main",
    "holdout3[163]": "hex-escaped bytes piped to bash",
    "holdout3[165]": "Jenkins CLI runs Groovy script from stdin",
    "holdout3[174]": "workflow step decodes a secret into bash",
}


def known_miss(case: Case) -> str | None:
    return KNOWN_MISSES.get(case.id.split(" ")[0])


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
