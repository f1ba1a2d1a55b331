"""The auditor API and CLI over real HTTP: who may read, paging, CSV, stats, audit evidence."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.evidence import verify_evidence
from bot.exports import CSV_COLUMNS, FORMULA_STARTS
from bot.models import Status, to_ms
from bot.principals import Role
from tests.conftest import AgentFactory, Api, ApiFactory
from tests.history.conftest import FORMULAS, HistoryFactory, Record


def iso(record_time: Any) -> str:
    return record_time.isoformat().replace("+00:00", "Z") if record_time else ""


def expected_row(r: Record) -> dict[str, str]:
    took = (r.decided - r.created).total_seconds() if r.decided else None

    def safe(cell: str) -> str:
        return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell

    return {
        "id": r.id,
        "agent": r.agent,
        "action": r.action,
        "resource": safe(r.resource),
        "environment": r.environment,
        "risk": r.risk.value,
        "outcome": r.status.value,
        "approvers": ";".join(r.approvers),
        "denied_by": r.denier or "",
        "denial_reason": safe(r.reason),
        "decided_by": r.decided_by or "",
        "created_at": iso(r.created),
        "decided_at": iso(r.decided),
        "seconds_to_decision": "" if took is None else f"{took:g}",
    }


async def auditor_token(add_agent: AgentFactory) -> str:
    _, token = await add_agent("auditor-1", role=Role.auditor)
    return token


async def test_only_auditor_tokens_read_history(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, agent = await add_agent("some-agent")
    auditor = await auditor_token(add_agent)
    async with serve_api() as api:
        for path in ("/v1/history", "/v1/stats", "/v1/audit/verify", "/v1/audit/entries"):
            assert (await api.client.get(path)).status_code == 401, path
            assert (await api.client.get(path, headers=api.auth(agent))).status_code == 403
            assert (await api.client.get(path, headers=api.auth(auditor))).status_code == 200


async def test_json_pages_and_bad_parameters(
    make_history: HistoryFactory, serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    made = await make_history(700)
    token = await auditor_token(add_agent)
    since = sorted(made.records, key=lambda r: r.created)[200].created
    expected = made.newest_first(lambda r: r.agent == "deploy-bot" and r.created >= since)
    async with serve_api(runtime=made.runtime) as api:
        ids, cursor = [], None
        while True:
            params = {"agent": "deploy-bot", "since": since.isoformat(), "limit": 25}
            page = await get(api, token, **params, **({"cursor": cursor} if cursor else {}))
            ids += [r["id"] for r in page.json()["requests"]]
            if not (cursor := page.json()["next_cursor"]):
                break
        assert ids == expected
        age = await get(api, token, since="1d", limit=1000)  # an age, from the server's clock
        day_ago = to_ms(made.clock.now) - 86400_000
        assert [r["id"] for r in age.json()["requests"]] == made.newest_first(
            lambda r: to_ms(r.created) >= day_ago
        )
        for params, code in [
            ({"since": "last tuesday"}, "invalid_time"),
            ({"cursor": "nonsense"}, "invalid_cursor"),
            ({"status": "maybe"}, "invalid_request"),
        ]:
            bad = await get(api, token, **params)
            assert bad.status_code in (400, 422) and bad.json()["error"]["code"] == code


OUT_OF_RANGE_TIMES = {
    "999999d": "at most 36500d",
    "99999999999999999999w": "at most 36500d",
    "0001-01-01T00:00:00+01:00": "neither ISO 8601",
    "9999-12-31T23:59:59-01:00": "neither ISO 8601",
}


async def test_times_out_of_range_are_a_400_naming_the_problem(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    token = await auditor_token(add_agent)
    async with serve_api() as api:
        for text, problem in OUT_OF_RANGE_TIMES.items():
            for path, params in [
                ("/v1/history", {"since": text}),
                ("/v1/history", {"until": text, "format": "csv"}),
                ("/v1/stats", {"since": text}),
                ("/v1/stats", {"until": text}),
                ("/v1/audit/entries", {"since": text}),
            ]:
                response = await api.client.get(path, params=params, headers=api.auth(token))
                error = response.json()["error"]
                assert response.status_code == 400, (path, text, response.text)
                assert error["code"] == "invalid_time" and problem in error["message"]


async def get(api: Api, token: str, **params: Any) -> Any:
    response = await api.client.get("/v1/history", params=params, headers=api.auth(token))
    assert response.status_code < 500, response.text
    return response


async def test_csv_has_one_safe_row_per_request(
    make_history: HistoryFactory, serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    made = await make_history(1200)
    token = await auditor_token(add_agent)
    async with serve_api(runtime=made.runtime) as api:
        response = await get(api, token, format="csv", status="denied")
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        jsonl = await get(api, token, format="jsonl", risk="critical")
    denied = {r.id: r for r in made.records if r.status is Status.denied}
    assert [row["id"] for row in rows] == made.newest_first(lambda r: r.status is Status.denied)
    assert list(rows[0]) == list(CSV_COLUMNS)
    for row in rows:
        want = expected_row(denied[row["id"]])
        assert {k: row[k] for k in want} == want
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row.values())
    assert {row["denial_reason"] for row in rows} >= {"'" + f for f in FORMULAS}
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [r["id"] for r in lines] == made.newest_first(lambda r: r.risk.value == "critical")


async def test_stats_endpoint(
    make_history: HistoryFactory, serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    made = await make_history(300)
    token = await auditor_token(add_agent)
    async with serve_api(runtime=made.runtime) as api:
        response = await api.client.get("/v1/stats", headers=api.auth(token))
        windowed = await api.client.get(
            "/v1/stats", params={"since": "1d"}, headers=api.auth(token)
        )
    body = response.json()
    assert body["total"] == 300
    assert body["by_outcome"]["denied"] == sum(r.status is Status.denied for r in made.records)
    day_ago = to_ms(made.clock.now) - 86400_000
    assert windowed.json()["total"] == sum(to_ms(r.created) >= day_ago for r in made.records)


async def run_cli(monkeypatch: pytest.MonkeyPatch, api: Api, token: str, *argv: str) -> int:
    monkeypatch.setenv("COUNTERSIGN_URL", api.base_url)
    monkeypatch.setenv("COUNTERSIGN_TOKEN", token)
    return await asyncio.to_thread(main, list(argv))


async def test_cli_history_and_stats(
    make_history: HistoryFactory,
    serve_api: ApiFactory,
    add_agent: AgentFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = await make_history(200)
    token = await auditor_token(add_agent)
    approved = made.newest_first(lambda r: r.agent == "infra-bot" and r.status is Status.approved)
    async with serve_api(runtime=made.runtime) as api:
        args = ("history", "--agent", "infra-bot", "--status", "approved")
        assert await run_cli(monkeypatch, api, token, *args, "--limit", "5") == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == [
            "created_at",
            "id",
            "agent",
            "action",
            "risk",
            "status",
            "approvers",
            "took",
        ]
        assert [line.split()[2] for line in table[1:6]] == approved[:5]
        assert table[-1].startswith("more: --cursor ")
        assert await run_cli(monkeypatch, api, token, *args, "--format", "csv") == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [row["id"] for row in rows] == approved
        assert await run_cli(monkeypatch, api, token, "stats", "--format", "json") == 0
        assert json.loads(capsys.readouterr().out)["total"] == 200
        assert await run_cli(monkeypatch, api, token, "stats") == 0
        assert "requests: 200" in capsys.readouterr().out
        assert await run_cli(monkeypatch, api, "cs_wrong", "stats") == 1
        assert "HTTP 401" in capsys.readouterr().err


async def test_exported_evidence_verifies_offline_and_names_a_bad_line(
    make_history: HistoryFactory,
    serve_api: ApiFactory,
    add_agent: AgentFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    made = await make_history(150)
    token = await auditor_token(add_agent)
    evidence = tmp_path / "evidence.jsonl"
    async with serve_api(runtime=made.runtime) as api:
        args = ("audit", "export", "-o", str(evidence))
        assert await run_cli(monkeypatch, api, token, *args) == 0
        remote = await api.client.get("/v1/audit/verify", headers=api.auth(token))
        assert await run_cli(monkeypatch, api, token, "audit", "verify", "--api") == 0
    entries = remote.json()["entries"]
    assert remote.json()["intact"] and entries > 300
    capsys.readouterr()
    lines = evidence.read_text().splitlines()
    assert len(lines) == entries
    assert offline(evidence) == (True, None)
    assert f"newest hash {remote.json()['head']}" in capsys.readouterr().out
    # The documented algorithm, with nothing but hashlib:
    assert independent_check(lines) == remote.json()["head"]

    edited = json.loads(lines[40])
    edited["data"] = json.dumps({**json.loads(edited["data"]), "actor": "U0MALLORY"})
    for name, changed, bad_line in [
        ("edited", [*lines[:40], json.dumps(edited), *lines[41:]], 41),
        ("deleted", lines[:40] + lines[41:], 41),
        ("inserted", [*lines[:40], lines[10], *lines[40:]], 41),
    ]:
        evidence.write_text("\n".join(changed) + "\n")
        assert offline(evidence) == (False, bad_line), name
    partial = lines[100:]
    evidence.write_text("\n".join(partial) + "\n")
    assert offline(evidence) == (True, None)  # an export --since starts from an anchor


async def test_checkpoints_over_the_api_the_cli_and_an_export(
    make_history: HistoryFactory,
    serve_api: ApiFactory,
    add_agent: AgentFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    made = await make_history(20)
    token = await auditor_token(add_agent)
    evidence, unknown = tmp_path / "evidence.jsonl", "0" * 64
    async with serve_api(runtime=made.runtime) as api:
        verify, auth = "/v1/audit/verify", api.auth(token)
        head = (await api.client.get(verify, headers=auth)).json()["head"]
        checked = await api.client.get(verify, params={"checkpoint": head.upper()}, headers=auth)
        found = checked.json()
        assert found["intact"] and "1 checkpoint(s) found" in found["message"]
        missing = await api.client.get(verify, params={"checkpoint": unknown}, headers=auth)
        assert not missing.json()["intact"] and unknown in missing.json()["problem"]
        bad = await api.client.get(verify, params={"checkpoint": "not-a-hash"}, headers=auth)
        assert bad.status_code == 422 and "checkpoint" in bad.text
        cli = ("audit", "verify", "--api", "--checkpoint")
        assert await run_cli(monkeypatch, api, token, *cli, head.upper()) == 0
        assert await run_cli(monkeypatch, api, token, *cli, unknown) == 1
        assert await run_cli(monkeypatch, api, token, "audit", "export", "-o", str(evidence)) == 0
    assert main(["audit", "verify", "--file", str(evidence), "--checkpoint", head]) == 0
    assert "1 checkpoint(s) found" in capsys.readouterr().out
    assert main(["audit", "verify", "--file", str(evidence), "--checkpoint", unknown]) == 1
    assert f"checkpoint {unknown} is not in the file" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["audit", "verify", "--checkpoint", "xyz"])
    assert refused.value.code == 2 and "is not a SHA-256 hash" in capsys.readouterr().err


def offline(path: Path) -> tuple[bool, int | None]:
    """`countersign audit verify --file`'s exit status, and the line the verdict names."""
    code = main(["audit", "verify", "--file", str(path)])
    with path.open() as lines:
        verdict = verify_evidence(lines)
    assert verdict.intact == (code == 0)
    return verdict.intact, verdict.first_bad_line


def independent_check(lines: list[str]) -> str:
    prev = json.loads(lines[0])["prev"]
    for line in lines:
        entry = json.loads(line)
        assert entry["prev"] == prev
        digest = hashlib.sha256((entry["prev"] + "\n" + entry["data"]).encode()).hexdigest()
        assert digest == entry["hash"]
        prev = entry["hash"]
    return str(prev)
