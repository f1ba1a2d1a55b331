"""Invisible format characters ("Trojan Source") are shown as markers wherever Slack shows agent
text: the card, its thread, the full-diff modal, App Home, `/countersign` and agents' questions."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from bot.integrations.contacts import Contact
from bot.slack.actions import Action
from bot.slack.messages import question
from tests.slack.conftest import SlackWorld, visible

RLO, LRI, ZWSP, BOM = "\u202e", "\u2066", "\u200b", "\ufeff"
SNEAKY: dict[str, Any] = {
    "command": f"rm -rf /srv/app{RLO}txt.exe && echo done{ZWSP}",
    "diff": f"- allow = false\n+ allow = true{LRI} # disabled\n",
    "params": {"path": f"/tmp{ZWSP}/x"},
}


def hidden(surface: Any) -> list[str]:
    """Every invisible format character in what Slack was given to show."""
    text = surface if isinstance(surface, str) else json.dumps(surface, ensure_ascii=False)
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"]


async def test_card_thread_modal_home_and_show_reveal_invisible_characters(
    world: SlackWorld,
) -> None:
    request = await world.submit(**SNEAKY)
    card = await world.card(request["id"])
    assert hidden(card.blocks) == [] and hidden(card.text) == []
    shown = visible(card.blocks)
    assert "/srv/app⟦U+202E⟧txt.exe &amp;&amp; echo done⟦U+200B⟧" in shown
    assert "+ allow = true⟦U+2066⟧ # disabled" in shown
    assert "/tmp⟦U+200B⟧/x" in shown

    await world.click("U0ALICE01", Action.view_diff, request["id"])
    modal = await world.slack.wait_until(lambda: list(world.slack.views.values()))
    assert hidden(modal) == [] and "true⟦U+2066⟧ # disabled" in visible(modal[0]["blocks"])

    await world.sender.command("U0ALICE01", f"show {request['id']}")
    reply = await world.slack.wait_until(lambda: world.slack.responses)
    assert hidden(reply) == [] and "txt.exe" in visible(reply[0]["blocks"])

    home_opened = {"type": "app_home_opened", "user": "U0ALICE01", "tab": "home"}
    await world.sender.event(home_opened, event_id="Ev0HIDDEN1")
    home = await world.slack.wait_until(lambda: world.slack.views.get("home:U0ALICE01"))
    assert hidden(home) == []

    await world.runtime.service.vote(
        request["id"], "U0BOB0002", approve=False, comment=f"no{RLO}pe"
    )
    await world.settle()
    thread = world.slack.thread(card.channel, card.ts)
    assert thread and hidden([(m.text, m.blocks) for m in thread]) == []
    assert "no⟦U+202E⟧pe" in visible(thread[0].blocks)
    assert hidden(card.blocks) == [] and "no⟦U+202E⟧pe" in visible(card.blocks)


def test_questions_reveal_invisible_characters() -> None:
    contact = Contact(
        agent="infra-bot",
        call_id="c",
        run_id="r",
        message=f"Delete {RLO}gnp.exe?",
        subject=f"Cleanup{ZWSP}",
        response_options=[{"name": "yes", "title": f"yes{LRI}", "description": f"d{BOM}"}],
        spec={},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    message = question(contact)
    assert hidden(message.blocks) == [] and hidden(message.text) == []
    assert "Delete ⟦U+202E⟧gnp.exe?" in visible(message.blocks)
