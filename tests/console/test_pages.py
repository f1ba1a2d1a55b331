"""The console over real HTTP: sign-in rules, CSRF, escaping, and what each page shows."""

from __future__ import annotations

import csv
import io

from bot.console.session import COOKIE
from bot.principals import Principal, Role
from tests.console.conftest import HOSTILE, ConsoleFactory, csrf_of

ALICE, BOB = "U0ALICE01", "U0BOB0002"


async def test_sign_in_takes_auditor_tokens_only(console: ConsoleFactory) -> None:
    async with console() as c:
        anon = c.api.client
        assert (await anon.get("/")).headers["location"] == "/login"
        form = await anon.get("/login")
        csrf = csrf_of(form.text)
        for token, error in [
            (c.agent_token, "Only auditor tokens"),
            ("cs_nonsense", "not valid"),
        ]:
            refused = await anon.post("/login", data={"token": token, "csrf": csrf})
            assert refused.status_code == 401 and error in refused.text
            assert (await anon.get("/")).status_code == 303
        forged = await anon.post("/login", data={"token": c.auditor_token, "csrf": "guess"})
        assert forged.status_code == 401 and "expired" in forged.text
        signed = await anon.post("/login", data={"token": c.auditor_token, "csrf": csrf})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(COOKIE) and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "auditor-1" in (await anon.get("/")).text


async def test_a_forged_or_altered_cookie_is_not_a_session(console: ConsoleFactory) -> None:
    async with console() as c:
        client = await c.signed_in()
        value = client.cookies[COOKIE]
        payload, _, mac = value.rpartition(".")
        flipped = ("1" if mac[0] == "0" else "0") + mac[1:]  # always differs from the real MAC
        for bad in (f"{payload}.{flipped}", "e30." + mac, "nonsense"):
            client.cookies.set(COOKIE, bad)
            assert (await client.get("/")).status_code == 303
        await client.aclose()


async def test_forms_without_the_csrf_token_are_refused(console: ConsoleFactory) -> None:
    async with console(dev=True) as c:
        request_id = await c.submit()
        client = await c.signed_in()
        vote = {"user": ALICE, "vote": "approve"}
        refused = await client.post(f"/requests/{request_id}/vote", data=vote)
        assert refused.status_code == 403
        assert (await client.post("/logout", data={"csrf": "wrong"})).status_code == 403
        assert (await c.runtime.service.get(request_id)).approvals == []
        await client.aclose()


async def test_request_page_shows_the_card_escaped(console: ConsoleFactory) -> None:
    async with console() as c:
        request_id = await c.submit()
        client = await c.signed_in()
        page = (await client.get(f"/requests/{request_id}")).text
        await client.aclose()
    assert HOSTILE not in page and "&lt;script&gt;" in page
    for shown in (
        "prod-cn-north-1",
        "iam:*",
        "CRITICAL".lower(),
        "0 of 2",
        "terraform destroy",
        "production-environment-changes",
        "#prod-approvals",
    ):
        assert shown in page, shown
    assert page.count('class="gi"') >= 1500 and page.count('class="gd"') >= 1500  # highlighted
    assert 'm7g.xlarge"  # 1499' in page  # the whole diff, to its last line
    assert "created" in page and "Audit entries" in page


async def test_pending_history_and_dashboard(console: ConsoleFactory) -> None:
    async with console() as c:
        first = await c.submit()
        c.runtime.clock.advance(60)  # type: ignore[attr-defined]
        second = await c.submit(
            summary="Deploy api",
            action="deploy.api",
            environment="staging",
            diff="",
            resource="=cmd|' /C calc'!A0",
        )
        await c.runtime.service.vote(second, BOB, approve=False, comment="@not now")
        client = await c.signed_in()
        pending = (await client.get("/")).text
        denied = (await client.get("/history", params={"status": "denied"})).text
        bad = (await client.get("/history", params={"since": "soon"})).text
        download = await client.get("/history.csv", params={"agent": "infra-bot"})
        refused = await client.get("/history.csv", params={"risk": "extreme"})
        dashboard = (await client.get("/dashboard", params={"period": "7d"})).text
        await client.aclose()
    assert first in pending and second not in pending and "9.0m left" in pending
    assert 'http-equiv="refresh"' in pending
    assert second in denied and first not in denied and "@not now" in denied
    assert "is neither ISO 8601" in bad
    assert refused.status_code == 400
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["resource"] == "'=cmd|' /C calc'!A0" and rows[0]["denial_reason"] == "'@not now"
    assert dashboard.count("<svg") == 3 and ">50.0%<" not in dashboard
    assert "100.0%" in dashboard  # the one finished request was denied


async def test_history_times_out_of_range_are_refused(console: ConsoleFactory) -> None:
    async with console() as c:
        client = await c.signed_in()
        for since, problem in [("999999d", "at most 36500d"), ("0001-01-01T00:00+01:00", "ISO")]:
            page = await client.get("/history", params={"since": since})
            assert page.status_code == 400 and problem in page.text
            download = await client.get("/history.csv", params={"until": since})
            assert download.status_code == 400 and problem in download.json()["error"]["message"]
        await client.aclose()


async def test_trusted_sso_header_signs_in(console: ConsoleFactory) -> None:
    async with console(COUNTERSIGN_SSO_HEADER="X-Forwarded-Email") as c:
        client = c.api.client
        assert (await client.get("/")).status_code == 303
        page = await client.get("/", headers={"X-Forwarded-Email": "Manager@Example.com"})
        assert page.status_code == 200 and "Manager@Example.com" in page.text


async def test_sso_admits_only_the_policys_auditor_emails(console: ConsoleFactory) -> None:
    async with console(COUNTERSIGN_SSO_HEADER="X-Forwarded-Email") as c:
        client = c.api.client
        auditor = {"X-Forwarded-Email": "manager@example.com"}
        assert (await client.get("/", headers=auditor)).status_code == 200  # holds its cookie
        for path in ("/", "/history", "/history.csv", "/dashboard", "/login"):
            refused = await client.get(path, headers={"X-Forwarded-Email": "mallory@example.com"})
            assert refused.status_code == 403, path
            assert "Not an auditor" in refused.text and "mallory@example.com" in refused.text
            assert "auditor-1" not in refused.text


async def test_a_removed_demoted_or_rotated_auditor_token_loses_access_at_once(
    console: ConsoleFactory,
) -> None:
    async with console() as c:
        auditor = Principal(name="auditor-1", role=Role.auditor)
        for revoke in ("remove", "demote", "rotate"):
            c.auditor_token = await c.runtime.principals.add(auditor)
            client = await c.signed_in()
            assert (await client.get("/")).status_code == 200
            if revoke == "remove":
                await c.runtime.principals.remove("auditor-1")
            elif revoke == "demote":
                await c.runtime.principals.add(Principal(name="auditor-1", role=Role.agent))
            else:  # same name and role, a new token: sessions from the old one end
                c.auditor_token = await c.runtime.principals.add(auditor)
            for path in ("/", "/history", "/dashboard"):
                gone = await client.get(path)
                assert gone.status_code == 303 and gone.headers["location"] == "/login", path
            await client.aclose()
        again = await c.signed_in()  # the new token signs in as usual
        assert "auditor-1" in (await again.get("/")).text
        await again.aclose()


async def test_sso_header_is_ignored_unless_configured(console: ConsoleFactory) -> None:
    async with console() as c:
        page = await c.api.client.get("/", headers={"X-Forwarded-Email": "mallory@example.com"})
        assert page.status_code == 303


async def test_demo_votes_only_in_dev_mode(console: ConsoleFactory) -> None:
    async with console(dev=False) as c:
        request_id = await c.submit()
        client = await c.signed_in()
        page = await client.get(f"/requests/{request_id}")
        vote = {"user": ALICE, "vote": "approve", "csrf": csrf_of(page.text)}
        assert "Vote as a demo approver" not in page.text
        assert (await client.post(f"/requests/{request_id}/vote", data=vote)).status_code in (
            404,
            405,
        )
        await client.aclose()
    async with console(dev=True) as c:
        request_id = await c.submit()
        client = await c.signed_in()
        page = await client.get(f"/requests/{request_id}")
        csrf = csrf_of(page.text)
        for user in (ALICE, ALICE, BOB):
            done = await client.post(
                f"/requests/{request_id}/vote",
                data={"user": user, "vote": "approve", "csrf": csrf},
                follow_redirects=True,
            )
        assert "the request is approved" in done.text
        assert (await c.runtime.service.get(request_id)).status.value == "approved"
        await client.aclose()
