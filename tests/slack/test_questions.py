"""Agents' questions (HumanLayer contact requests) in Slack: the real SDK asks, a person answers.

The `humanlayer` 0.7.x SDK runs unchanged in a thread against the running server; the question
reaches the fake Slack through the outbox, and the answer is a signed click and modal submit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from humanlayer import HumanLayer
from humanlayer.core.models import (
    ContactChannel,
    HumanContact,
    HumanContactSpec,
    ResponseOption,
    SlackContactChannel,
)

from bot.integrations.contacts import Answer, Contact
from bot.integrations.http import install_integrations
from bot.slack.actions import ANSWER_INPUT, OPTION_INPUT, Action, Block
from bot.slack.messages import question
from bot.slack.views import answer_modal
from tests.conftest import AgentFactory, ApiFactory
from tests.slack.conftest import (
    SlackWorld,
    WorldFactory,
    has_buttons,
    readiness_once,
    texts_of,
    visible,
)
from tests.support.fake_slack import VIEW_BLOCKS, FakeSlack, Message, block_kit_problems
from tests.support.slack_signing import view_submission

ASKED = ("U0ALICE01", "U0BOB0002")
POLLS_PER_MINUTE = 10_000  # the SDK polls every 0.1 s here (every 3 s in real use)
REGION = HumanContactSpec(
    msg="Which region should the replica go to? <!channel> <https://evil.test|click>",
    subject="Replica placement",
    channel=ContactChannel(
        slack=SlackContactChannel(channel_or_user_id="C0INFRA01", allowed_responder_ids=[*ASKED])
    ),
    response_options=[
        ResponseOption(name="eu", title="eu-west-1", description="next to the primary"),
        ResponseOption(name="us", title="us-east-1"),
    ],
)


@pytest.fixture
async def asking(start_world: WorldFactory, add_agent: AgentFactory) -> AsyncIterator[SlackWorld]:
    """Countersign with Slack and the HumanLayer-compatible API, as `countersign serve` runs."""
    _, token = await add_agent(
        "infra-bot", rate_per_minute=POLLS_PER_MINUTE, question_channels=["C0INFRA01"]
    )
    async with start_world(token, more=[install_integrations]) as world:
        yield world


def sdk(world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> HumanLayer:
    monkeypatch.setenv("HUMANLAYER_API_BASE", f"{world.api.base_url}/humanlayer/v1")
    monkeypatch.setenv("HUMANLAYER_API_KEY", world.token)
    return HumanLayer(agent_name="infra-bot", sleep=lambda _: time.sleep(0.1))


def ask(world: SlackWorld, monkeypatch: pytest.MonkeyPatch, spec: HumanContactSpec) -> Any:
    """The SDK's `fetch_human_response`, running in a thread until someone answers."""
    asking_sdk = sdk(world, monkeypatch)
    return asyncio.create_task(asyncio.to_thread(asking_sdk.fetch_human_response, spec))


def questions(slack: FakeSlack) -> list[Message]:
    return [m for m in slack.messages.values() if "Asked by" in visible(m.blocks)]


async def posted_question(world: SlackWorld) -> Message:
    """The one question in Slack, delivering the outbox (and its retries) until it is there."""
    async with asyncio.timeout(20):
        while not questions(world.slack):
            await world.settle()
            await asyncio.sleep(0.05)
    await world.settle()
    found = questions(world.slack)
    assert len(found) == 1, f"expected one question, found {len(found)}"
    return found[0]


def contact_id(question: Message) -> str:
    buttons = [e for b in question.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [Action.answer]
    return str(buttons[0]["value"])


async def open_answer_modal(world: SlackWorld, user: str, question: Message) -> dict[str, Any]:
    opened = len(world.slack.calls_to("views.open", ok=True))
    response = await world.sender.click(
        user, Action.answer, contact_id(question), channel=question.channel, ts=question.ts
    )
    assert response.status_code == 200
    calls = await world.slack.wait_until(
        lambda: world.slack.calls_to("views.open", ok=True)[opened:]
    )
    return dict(calls[0].response["view"])


def typed(text: str | None, option: int | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        Block.answer_text: {ANSWER_INPUT: {"type": "plain_text_input", "value": text}}
    }
    selected = {"value": str(option)} if option is not None else None
    values[Block.answer_option] = {
        OPTION_INPUT: {"type": "static_select", "selected_option": selected}
    }
    return values


async def answer(world: SlackWorld, user: str, modal: dict[str, Any], values: dict) -> None:
    response = await world.sender.interact(view_submission(user, modal, values))
    assert response.status_code == 200
    assert response.text == ""  # closed: no errors on the modal


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> str:
    """What Slack would parse for mentions, links and formatting."""
    return "\n".join(texts_of(blocks, "mrkdwn"))


async def test_sdk_question_is_posted_answered_in_a_modal_and_returned(
    asking: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetching = ask(asking, monkeypatch, REGION)
    question = await posted_question(asking)
    assert question.channel == "C0INFRA01"
    shown = visible(question.blocks)
    assert "❓ Replica placement" in shown
    assert REGION.msg in texts_of(question.blocks)  # as plain_text: shown literally
    assert "<!channel>" not in mrkdwn_texts(question.blocks)
    assert "eu-west-1: next to the primary" in shown and "us-east-1" in shown
    assert "For <@U0ALICE01> <@U0BOB0002>" in shown
    assert "`infra-bot`" in shown

    asked = contact_id(question)
    modal = await open_answer_modal(asking, "U0BOB0002", question)
    assert REGION.msg in texts_of(modal["blocks"])
    choices = modal["blocks"][1]["element"]["options"]
    assert [c["text"]["text"] for c in choices] == ["eu-west-1", "us-east-1"]
    empty = await asking.sender.interact(view_submission("U0BOB0002", modal, typed(None)))
    assert empty.json()["response_action"] == "errors"
    reply = "eu-west-1, next to the primary <@U0CAROL03> *now*"
    await answer(asking, "U0BOB0002", modal, typed(reply, option=0))

    completed: HumanContact.Completed = await fetching
    assert completed.as_completed() == reply
    status = completed.contact.status
    assert status is not None and status.response_option_name == "eu"

    await asking.settle()
    shown = visible(question.blocks)
    assert "💬 *Answered* by <@U0BOB0002>" in shown
    assert "Choice: eu-west-1" in shown
    assert reply in texts_of(question.blocks)  # the person's text, as plain_text
    assert "<@U0CAROL03>" not in mrkdwn_texts(question.blocks)
    assert not has_buttons(question.blocks)
    assert question.updates == 1
    assert len(questions(asking.slack)) == 1

    late = await asking.sender.click(
        "U0ALICE01", Action.answer, asked, channel=question.channel, ts=question.ts
    )
    assert late.status_code == 200
    assert "U0BOB0002 already answered" in (await asking.ephemeral_for("U0ALICE01"))[0]
    assert len(asking.slack.calls_to("views.open")) == 1


async def test_a_choice_alone_answers_and_the_first_answer_wins(
    asking: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetching = ask(asking, monkeypatch, REGION)
    question = await posted_question(asking)
    alice = await open_answer_modal(asking, "U0ALICE01", question)
    bob = await open_answer_modal(asking, "U0BOB0002", question)
    await answer(asking, "U0ALICE01", alice, typed(None, option=1))
    await answer(asking, "U0BOB0002", bob, typed("eu-west-1 please"))

    completed = await fetching
    assert completed.as_completed() == "us-east-1"
    assert "already answered" in (await asking.ephemeral_for("U0BOB0002"))[0]
    await asking.settle()
    assert "*Answered* by <@U0ALICE01>" in visible(question.blocks)
    assert "eu-west-1 please" not in visible(question.blocks)


async def test_a_person_not_asked_is_refused_and_nothing_is_answered(
    asking: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetching = ask(asking, monkeypatch, REGION)
    question = await posted_question(asking)
    await asking.sender.click(
        "U0MALLORY", Action.answer, contact_id(question), channel=question.channel, ts=question.ts
    )
    refusal = (await asking.ephemeral_for("U0MALLORY"))[0]
    assert "U0MALLORY is not one of the people asked" in refusal
    assert asking.slack.calls_to("views.open") == []

    # A submit from someone else's modal: the signed payload says who it is, and it is refused.
    modal = await open_answer_modal(asking, "U0ALICE01", question)
    await answer(asking, "U0MALLORY", modal, typed("delete everything"))
    assert len(await asking.ephemeral_for("U0MALLORY", count=2)) == 2
    await asking.settle()
    assert has_buttons(question.blocks) and question.updates == 0
    assert not fetching.done()

    await answer(asking, "U0ALICE01", modal, typed("eu-west-1"))
    assert (await fetching).as_completed() == "eu-west-1"


async def test_question_asked_while_slack_fails_is_posted_once_after_recovery(
    asking: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    asking.slack.fail("chat.postMessage", status=503, times=2)
    asking.slack.fail("chat.postMessage", status=429, retry_after=5, times=1)
    spec = HumanContactSpec(msg="Is the maintenance window still on?")
    fetching = ask(asking, monkeypatch, spec)
    question = await posted_question(asking)
    attempts = asking.slack.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [503, 503, 429, 200]
    assert question.channel == asking.slack.channel_id("#approvals")  # the policy's default

    modal = await open_answer_modal(asking, "U0CAROL03", question)  # no list: anyone may answer
    asking.slack.fail("chat.update", status=500, times=1)
    await answer(asking, "U0CAROL03", modal, typed("yes, 02:00 UTC"))
    assert (await fetching).as_completed() == "yes, 02:00 UTC"
    await asking.settle()
    assert "*Answered* by <@U0CAROL03>" in visible(question.blocks)
    assert [c.status for c in asking.slack.calls_to("chat.update")] == [500, 200]
    assert len(questions(asking.slack)) == 1


async def test_question_asked_with_no_slack_running_is_posted_once_it_starts(
    serve_api: ApiFactory, start_world: WorldFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent("infra-bot")
    async with serve_api(adapters=[install_integrations]) as api:  # no Slack adapter at all
        asked = await api.client.post(
            "/humanlayer/v1/contact_requests",
            json={"run_id": "r", "call_id": "call-1", "spec": {"msg": "Rotate the keys now?"}},
            headers=api.auth(token),
        )
        assert asked.status_code == 200

    for _restart in range(2):
        async with start_world(token, more=[install_integrations]) as world:
            question = await posted_question(world)
            assert "Rotate the keys now?" in texts_of(question.blocks)
    assert len(world.slack.calls_to("chat.postMessage")) == 1


def test_any_question_and_answer_fit_block_kit_and_stay_inert() -> None:
    strange = "<!channel> <@U123> <http://evil|click> *b* 😀" + "é😀" * 3000
    contact = Contact(
        agent="infra-bot",
        call_id="c" * 200,
        run_id="r",
        message=strange[:4000],
        subject=strange,
        allowed_responders=["<!here>", *(f"U0USER{n:04d}" for n in range(300))],
        response_options=[
            {"name": f"o{n}", "title": strange, "description": strange} for n in range(300)
        ],
        spec={},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    asking = question(contact).blocks
    contact.answer = Answer(user="U0ALICE01", at=contact.created_at, response=strange, option="o7")
    answered = question(contact).blocks
    for blocks in (asking, answered):
        assert block_kit_problems(blocks) == []
        assert "<!channel>" not in mrkdwn_texts(blocks) and "<!here>" not in mrkdwn_texts(blocks)
    assert contact.message in "".join(texts_of(asking, "plain_text"))  # whole, over sections
    assert strange[:3000] in "".join(texts_of(answered, "plain_text"))

    modal = answer_modal(contact, "C0INFRA01")
    assert block_kit_problems(modal["blocks"], VIEW_BLOCKS) == []
    choices = modal["blocks"][1]["element"]["options"]
    assert len(choices) == 100
    assert all(len(c["text"]["text"].encode("utf-16-le")) // 2 <= 75 for c in choices)
    assert len(modal["private_metadata"]) <= 3000


async def test_question_slack_has_not_accepted_shows_in_readyz(asking: SlackWorld) -> None:
    asking.slack.fail("chat.postMessage", status=500, times=2)
    asked = await asking.api.client.post(
        "/humanlayer/v1/contact_requests",
        json={"run_id": "r", "call_id": "call-ready", "spec": {"msg": "Shall I rotate?"}},
        headers=asking.api.auth(asking.token),
    )
    assert asked.status_code == 200
    slack = (await readiness_once(asking, "unposted_questions"))["checks"]["slack"]
    assert slack["unposted_questions"] == 1 and slack["unposted_cards"] == 0
    assert list(slack["errors"].values()) == ["500"]

    await posted_question(asking)
    slack = (await asking.api.client.get("/readyz")).json()["checks"]["slack"]
    assert slack["unposted_questions"] == 0 and slack["errors"] == {}


async def test_question_whose_post_answer_was_lost_is_found_not_posted_twice(
    asking: SlackWorld,
) -> None:
    asking.slack.fail("chat.postMessage", status=500, lost=True)  # posted; the answer is lost
    asked = await asking.api.client.post(
        "/humanlayer/v1/contact_requests",
        json={"run_id": "r", "call_id": "call-lost", "spec": {"msg": "Shall I rotate?"}},
        headers=asking.api.auth(asking.token),
    )
    assert asked.status_code == 200
    question = await posted_question(asking)  # exactly one, adopted by the retry
    assert [c.status for c in asking.slack.calls_to("chat.postMessage")] == [500]
    assert asking.slack.calls_to("conversations.history", ok=True)
    slack = (await asking.api.client.get("/readyz")).json()["checks"]["slack"]
    assert slack["unposted_questions"] == 0

    await asking.sender.click("U0ALICE01", Action.answer, contact_id(question))  # still works
    await asking.slack.wait_until(lambda: asking.slack.calls_to("views.open", ok=True))
