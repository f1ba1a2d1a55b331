"""`@require_approval`: run a function only after people approved exactly this call."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic_core import to_jsonable_python

from bot.client.clients import AsyncCountersign, Countersign
from bot.client.errors import GrantMismatch
from bot.models import MAX_ACTION_LENGTH, ApprovalRequest, RequestIn

F = TypeVar("F", bound=Callable[..., Any])
_NOT_ACTION = re.compile(r"[^a-z0-9_\-.]+")
_DOTS = re.compile(r"\.{2,}")


def action_name(name: str) -> str:
    """A function's name as a Countersign action: `Deploy-Now` -> `deploy-now`, `a..b` -> `a.b`,
    at most 128 characters."""
    dotted = _DOTS.sub(".", _NOT_ACTION.sub("_", name.lower())).strip("_.-")
    return dotted[:MAX_ACTION_LENGTH].rstrip(".") or "call"


def call_params(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The bound arguments as JSON (defaults filled in, `self`/`cls` left out)."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
    params: dict[str, Any] = to_jsonable_python(arguments, fallback=repr)
    return params


def call_summary(name: str, params: dict[str, Any]) -> str:
    """`name(arg=value, ...)`, cut to fit a request's summary."""
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    text = f"Call {name}({shown})"
    return text if len(text) <= 300 else text[:297] + "..."


class _Template:
    """What the decorator was given; `body()` adds what one call brings."""

    def __init__(self, fn: Callable[..., Any], action: str | None, fields: dict[str, Any]) -> None:
        self.fn = fn
        self.action = action or action_name(fn.__name__)
        self.summary: str | None = fields.pop("summary", None)
        self.fields = fields
        self.body((), {}, check_only=True)  # invalid fields fail at decoration, not at run time

    def body(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], check_only: bool = False
    ) -> RequestIn:
        params = {} if check_only else call_params(self.fn, args, kwargs)
        summary = self.summary or call_summary(self.fn.__qualname__, params)
        return RequestIn(action=self.action, summary=summary, params=params, **self.fields)

    def recheck(
        self, approved: ApprovalRequest, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """The arguments may be mutable: what runs must still be what was approved."""
        if self.body(args, kwargs).action_hash() != approved.action_hash:
            raise GrantMismatch(approved, "the arguments changed while waiting for approval")


def require_approval(
    action: str | None = None,
    *,
    client: Countersign | AsyncCountersign | None = None,
    max_wait: float | None = None,
    **fields: Any,
) -> Callable[[F], F]:
    """Ask before each call; raise Denied, Expired, Cancelled or GrantMismatch instead of running.

    `fields` are request fields (`summary`, `resource`, `environment`, `scope`, `diff`,
    `justification`, `ttl_seconds`, ...). The call's arguments become `params`, so the grant
    is bound to them. Without `client`, one is made from COUNTERSIGN_URL and COUNTERSIGN_TOKEN.
    """

    def decorate(fn: F) -> F:
        template = _Template(fn, action, dict(fields))
        if inspect.iscoroutinefunction(fn):
            return cast(F, _async_wrapper(fn, template, client, max_wait))
        if isinstance(client, AsyncCountersign):
            raise TypeError(f"{fn.__qualname__} is not async; give it a Countersign client")
        return cast(F, _sync_wrapper(fn, template, client, max_wait))

    return decorate


def _sync_wrapper(
    fn: Callable[..., Any],
    template: _Template,
    client: Countersign | AsyncCountersign | None,
    max_wait: float | None,
) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        body = template.body(args, kwargs)
        own = client if isinstance(client, Countersign) else Countersign.from_env()
        try:
            approved = own.request_approval(body, max_wait=max_wait)
        finally:
            if own is not client:
                own.close()
        template.recheck(approved, args, kwargs)
        return fn(*args, **kwargs)

    return wrapper


def _async_wrapper(
    fn: Callable[..., Any],
    template: _Template,
    client: Countersign | AsyncCountersign | None,
    max_wait: float | None,
) -> Callable[..., Any]:
    if isinstance(client, Countersign):
        raise TypeError(f"{fn.__qualname__} is async; give it an AsyncCountersign client")

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        body = template.body(args, kwargs)
        own = client or AsyncCountersign.from_env()
        try:
            approved = await own.request_approval(body, max_wait=max_wait)
        finally:
            if own is not client:
                await own.aclose()
        template.recheck(approved, args, kwargs)
        return await fn(*args, **kwargs)

    return wrapper
