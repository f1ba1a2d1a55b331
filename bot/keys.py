"""Every Redis key Countersign uses, in one place.

All keys share one prefix so several deployments can share a Redis and an operator can find
(or delete) everything of ours with one SCAN. The Lua scripts build the same names from
`lua_prelude()`, generated here, so a key's shape is written exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "cs:"


@dataclass(frozen=True)
class Keys:
    prefix: str = DEFAULT_PREFIX

    # One hash per request: the immutable document plus its mutable state fields.
    def request(self, request_id: str) -> str:
        return f"{self.prefix}req:{request_id}"

    # Idempotency-Key -> "fingerprint id", per agent, kept for a day.
    def idempotency(self, agent: str, key: str) -> str:
        return f"{self.prefix}idem:{agent}:{key}"

    # Deadlines of pending requests, scored by expiry time (ms): overdue = ZRANGEBYSCORE 0 now.
    @property
    def deadlines(self) -> str:
        return f"{self.prefix}deadlines"

    # Reminder and escalation points, members "id|kind|n", scored by due time (ms).
    @property
    def followups(self) -> str:
        return f"{self.prefix}followups"

    # Indexes for history, scored by creation time (ms) unless said otherwise.
    @property
    def by_created(self) -> str:
        return f"{self.prefix}idx:created"

    @property
    def by_decided(self) -> str:  # scored by decision time
        return f"{self.prefix}idx:decided"

    def by_status(self, status: str) -> str:
        return f"{self.prefix}idx:status:{status}"

    def by_agent(self, agent: str) -> str:
        return f"{self.prefix}idx:agent:{agent}"

    def by_risk(self, risk: str) -> str:
        return f"{self.prefix}idx:risk:{risk}"

    def by_approver(self, user: str) -> str:  # scored by vote time
        return f"{self.prefix}idx:approver:{user}"

    # Requests a user voted on (approve or deny), scored by creation time like the indexes above,
    # so history can intersect it with them and page newest first (see bot/history.py).
    def by_voter(self, user: str) -> str:
        return f"{self.prefix}idx:voter:{user}"

    # The tamper-evident audit log (a stream) and the hash of its newest entry.
    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    @property
    def audit_head(self) -> str:
        return f"{self.prefix}audit:head"

    # Stream ids of one request's audit entries, so its timeline needs no scan of the log.
    def request_audit(self, request_id: str) -> str:
        return f"{self.prefix}req:{request_id}:audit"

    # Pub/sub channels: decisions (wakes long-polls on every replica) and new outbox jobs.
    @property
    def decided_channel(self) -> str:
        return f"{self.prefix}decided"

    @property
    def jobs_channel(self) -> str:
        return f"{self.prefix}jobs"

    # Durable outbox: one sorted set of job ids per sink, scored by when to (re)try.
    def outbox(self, sink: str) -> str:
        return f"{self.prefix}outbox:{sink}"

    def dead_letters(self, sink: str) -> str:
        return f"{self.prefix}outbox:{sink}:dead"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    @property
    def job_seq(self) -> str:
        return f"{self.prefix}job:seq"

    # Agents and other token holders; tokens are stored only as SHA-256 hashes.
    def principal(self, name: str) -> str:
        return f"{self.prefix}principal:{name}"

    @property
    def principals(self) -> str:
        return f"{self.prefix}principals"

    def token(self, token_hash: str) -> str:
        return f"{self.prefix}token:{token_hash}"

    # Fixed-window counters for rate limits.
    def rate(self, subject: str, window: int) -> str:
        return f"{self.prefix}rate:{subject}:{window}"

    # Adapter state that must survive restarts, e.g. where a Slack card was posted.
    def adapter(self, adapter: str, name: str) -> str:
        return f"{self.prefix}{adapter}:{name}"

    def lua_prelude(self) -> str:
        """Lua functions building the same key names inside scripts."""
        p = self.prefix.replace("\\", "\\\\").replace("'", "\\'")
        return f"""
local P = '{p}'
local K = {{
  request = function(id) return P .. 'req:' .. id end,
  idempotency = function(agent, key) return P .. 'idem:' .. agent .. ':' .. key end,
  deadlines = P .. 'deadlines',
  followups = P .. 'followups',
  by_created = P .. 'idx:created',
  by_decided = P .. 'idx:decided',
  by_status = function(s) return P .. 'idx:status:' .. s end,
  by_agent = function(a) return P .. 'idx:agent:' .. a end,
  by_risk = function(r) return P .. 'idx:risk:' .. r end,
  by_approver = function(u) return P .. 'idx:approver:' .. u end,
  by_voter = function(u) return P .. 'idx:voter:' .. u end,
  audit = P .. 'audit',
  audit_head = P .. 'audit:head',
  request_audit = function(id) return P .. 'req:' .. id .. ':audit' end,
  decided_channel = P .. 'decided',
  jobs_channel = P .. 'jobs',
  outbox = function(s) return P .. 'outbox:' .. s end,
  dead_letters = function(s) return P .. 'outbox:' .. s .. ':dead' end,
  job = function(j) return P .. 'job:' .. j end,
  job_seq = P .. 'job:seq',
}}
"""
