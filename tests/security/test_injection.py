"""Hostile text in every agent-controlled field: stored and returned byte for byte, inert in
the Slack card (no mention, broadcast or link can be forged) and in the CSV export (no cell a
spreadsheet would run as a formula)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from bot.models import ApprovalRequest
from bot.principals import Role
from bot.slack.blocks import card
from tests.conftest import AgentFactory, ApiFactory

HOSTILE = '=HYPERLINK("http://evil") <!channel> <@U0ALICE01> <http://evil|ok> *b* `x` <script>'
CONTROL = ("\x00", "\x1b[31m", "\x07", "\u202e", "\r\n")
BODY: dict[str, Any] = {
    "action": "deploy.service",
    "summary": HOSTILE,
    "resource": "+" + HOSTILE,
    "environment": "staging",
    "command": ["sh", "-c", HOSTILE],
    "diff": "@@ -1 +1 @@\n-" + HOSTILE + "\n+" + HOSTILE,
    "scope": {"permissions": ["@" + HOSTILE], "resources": [HOSTILE]},
    "justification": HOSTILE,
    "params": {HOSTILE: HOSTILE},
    "metadata": {"note": HOSTILE},
}
FORGEABLE = ("<!channel>", "<@U0ALICE01>", "<http://evil|ok>", "<script>")


async def test_hostile_fields_round_trip_exactly(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        created = await api.client.post("/v1/requests", json=BODY, headers=api.auth(token))
        assert created.status_code == 201, created.text
        stored = await api.client.get(
            f"/v1/requests/{created.json()['id']}", headers=api.auth(token)
        )
        for field, value in BODY.items():
            assert stored.json()[field] == value, field


async def test_control_characters_are_refused_where_a_format_is_fixed(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        cases = [
            ("action", "deploy.service\n"),
            ("action", "deploy.<!channel>"),
            ("environment", "prod\x00"),
            ("on_behalf_of", "U0OWNER01\x00"),
        ]
        cases += [(f, "ok" + c) for f in ("summary", "resource", "justification") for c in CONTROL]
        for field, value in cases:
            body = {**BODY, field: value}
            response = await api.client.post("/v1/requests", json=body, headers=api.auth(token))
            assert response.status_code == 422, (field, value, response.text)
            assert field in response.json()["error"]["message"]
        headers = {**api.auth(token), "Idempotency-Key": "key with spaces"}
        refused = await api.client.post("/v1/requests", json=BODY, headers=headers)
        assert refused.status_code == 422


async def test_a_callback_url_cannot_smuggle_a_header(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent("hook-bot", callback_hosts=["127.0.0.1"])
    async with serve_api() as api:
        body = {**BODY, "callback_url": "http://127.0.0.1:9/hook\r\nX-Injected: 1"}
        response = await api.client.post("/v1/requests", json=body, headers=api.auth(token))
    if response.status_code == 201:  # the URL parser drops CR/LF; what is stored is inert
        stored = response.json()["callback_url"]
        assert "\r" not in stored and "\n" not in stored and " " not in stored
    else:
        assert response.status_code == 422


async def test_the_slack_card_shows_hostile_text_inert(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        created = await api.client.post("/v1/requests", json=BODY, headers=api.auth(token))
        request = ApprovalRequest.model_validate(created.json())
    mrkdwn = _mrkdwn_texts(card(request, datetime.now(tz=UTC)))
    assert mrkdwn, "the card has formatted text"
    for text in mrkdwn:
        for forged in FORGEABLE:
            assert forged not in text, (forged, text)
    assert any("&lt;!channel&gt;" in text for text in mrkdwn)


async def test_csv_export_has_no_formula_cells(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    _, auditor = await add_agent("auditor", role=Role.auditor)
    async with serve_api() as api:
        created = await api.client.post("/v1/requests", json=BODY, headers=api.auth(token))
        assert created.status_code == 201
        export = await api.client.get(
            "/v1/history", params={"format": "csv"}, headers=api.auth(auditor)
        )
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text)))
    assert len(rows) == 2
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert any(HOSTILE in cell for cell in rows[1])  # kept, made inert, not dropped


def _mrkdwn_texts(node: Any) -> list[str]:
    """Every `mrkdwn` text in a block tree: the only kind Slack parses for mentions."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += _mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += _mrkdwn_texts(item)
    return found
