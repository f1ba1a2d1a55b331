"""Prose for RESULTS.md: what each figure measures and, where a target is missed, why."""

INTAKE_PATH = (
    "Each intake request pays for: bearer-token lookup and the per-agent rate-limit "
    "counter (one small script, one round trip), policy evaluation, the create script "
    "(request hash, four indexes, deadline, follow-ups, outbox job, and a SHA-256 "
    "hash-chained audit entry computed in Lua) and, in the background, the Slack card "
    "(outbox claim, `chat.postMessage` to the fake Slack, completion). The baseline pays "
    "for one `SET`."
)

INTAKE_MISSED = (
    "**Why the intake target is missed, and what would close it.** The CPU table says it: at "
    "64 agents both endpoints saturate the machine's two cores, so their throughput ratio "
    "is close to the ratio of their CPU cost per request in all processes (the sentence "
    "under the table). The baseline's cost is almost all HTTP handling; intake costs two to "
    "three times as much. A py-spy profile of the server at 64 agents puts intake's extra "
    "server time in the token lookup and rate-limit script call, policy evaluation, the "
    "create script call and the response, and, in the background, the Slack card (outbox "
    "claim, card lock, Block Kit rendering, the Web API call, saving the card's place and "
    "completion: about nine Redis round trips; the table's last column shows a card costs "
    "about as much again as the request it belongs to). "
    "Redis' extra half-millisecond is the create script, most of it the audit chain's "
    "SHA-256 computed in Lua (1.5 ms with the portable code this project started with, "
    "0.5 ms with Redis' native `bit` operations). Fixed in this round: FastAPI ran the "
    "plain-`def` dependencies in a worker thread (a thread hop per request; now `async`), "
    "and Slack calls opened a connection each (now one kept-alive session). What would "
    "close most of the rest: hash the audit chain outside the critical section (scripts "
    "append an unhashed entry with a sequence number; one sealer per deployment chains "
    "entries with `hashlib` milliseconds later; `audit verify` checks sealed entries and "
    "reports the unsealed tail), fold the card notifier's round trips into one script, and "
    "run the outbox workers (Slack cards, webhooks) in their own process, on their own "
    "core, so intake does not pay for the card on the same event loop. Compare ratios, not "
    "absolute numbers, across machines."
)

BACKLOG = (
    "Cards are posted in the background: under full load they fall behind intake, and the "
    "queue drains after the burst (each run waits for that before the next starts, and the "
    "last column charges that work to intake). A sustained load must stay below the rate at "
    "which cards are posted, which the last column's cost sets."
)

DECISION_PATH = (
    "One request at a time, on a quiet server (after the intake runs' Slack backlog has "
    "drained): the agent creates it, starts its long-poll, and 50 ms later a "
    "signed click arrives. The figure includes Slack signature checking, bolt's parsing, the "
    "vote script, the pub/sub wake-up and the long-poll's re-read and response."
)

DECISION_MISSED = (
    "**Why the decision target is missed, and what would close it.** Compare with the "
    "baseline row: a plain one-hash read on the same server has a p99 in the same range, so "
    "the tail is the machine (two cores shared by the server, Redis with fsync on every "
    "write, the fake Slack posting the card updates this very vote queues, and the load "
    "generator), not the decision path; the p50 is a few milliseconds above the read. On a "
    "machine with a core for Redis and a core per server process the tail follows the p50. "
    "Within Countersign, the vote path could skip one read: `vote` reads the policy and the "
    "request before the script and the request again after it; the script could return the "
    "new state instead."
)

HISTORY_PATH = (
    "`GET /v1/history?agent=...&status=approved&limit=50` with an auditor token, for a random "
    "agent of 20; half the queries start from a random point in the past (`until`). Rows are "
    "bulk-loaded with the production layout (`bench/seed.py`; AOF off while loading, which "
    "only changes load time). One client, back to back. A query counts as an error unless it "
    "returns a full page of 50."
)

SWEEP_PATH = (
    "`ApprovalService.sweep()` as the scheduler calls it, timed until nothing is due. Each "
    "expiry is the full `finish` of the Lua sweep: status, indexes, one outbox job for a "
    "notification sink, a hash-chained audit entry, and a pub/sub wake-up."
)

SWEEP_SCALING = (
    "Finding what is overdue is one `ZRANGEBYSCORE` on the deadline set, so an empty sweep "
    "costs the same at 10k and 100k pending. Each expiry then updates sorted sets whose size "
    "grows with the pending count (O(log n) per update), so the per-expiry cost rises a "
    "little with pending; most of it is the audit SHA-256 (see the intake note)."
)

HISTORY_MISSED = (
    "**Why the history target is missed, and what would close it.** The query walks the "
    "smallest matching index (the agent's: 50,000 ids at 1M) in batches of `limit + 1` and "
    "checks each id's status with `ZMSCORE` against the status index; with 60% of requests "
    "approved a page of 50 takes two batches, so about five Redis round trips and 50 hash "
    "reads per page at every size. The index work is O(log n), so the growth is not "
    "algorithmic: at 1M Redis holds about 4 GiB on a 2-core machine that also runs the server "
    "and the client, and the tail follows the machine (the p50 moved from 17 to 25 ms). What "
    "would close it: size each batch by the filter's selectivity (the query already counts "
    "every index in range with `ZCOUNT`), which makes a filtered page one walk batch instead "
    "of two, and keep the page's hashes in one pipeline with the membership checks; on a "
    "machine with a core for Redis the p99 should sit near the 10k figure."
)

READING_PATH = (
    "`Policy.evaluate` in-process on the example policy (`config/policy.yaml`): the request "
    "is read (command parsed with tree-sitter-bash, each program looked up in the catalog, "
    "SQL parsed with sqlglot, params and diff read), then matched to a rule. Baseline in the "
    "same run: what every request pays before policy, `RequestIn` validation and its "
    "`action_hash`. Requests over 8 KiB of command, params and diff are read in a worker "
    "thread at intake, so the event loop never waits on them; every reading stops at its "
    'budget and is then rated high ("too large to read in time").'
)

READING_HOLDOUT = (
    "The hold-out sets were written by red-team helpers that saw neither the catalog nor the "
    "training corpus, and each was scored once, unseen, before anything was changed because of "
    "it. `holdout.yaml` (300 cases), first pass: 179 of 200 destructive or unreadable cases "
    "rated high (89.5%), 4 of 100 benign rated high (4.0%). Its misses drove general fixes "
    "(dry runs, network rules open to 0.0.0.0/0, structured params that name a destructive "
    "operation, security-weakening diffs, Salt, Puppet, containerd). `holdout2.yaml` (300 "
    "cases), written after those fixes, first pass: 196 of 210 rated high (93.3%), 2 of 90 "
    "benign rated high (2.2%); its misses (scale-to-zero spellings, dry runs, structured "
    "grants, sshd/pg_hba/sudoers/Vault/Azure role files, kustomization prunes) were fixed "
    "too. `holdout3.yaml` (250 cases) was asked for the long tail (cloud CLIs beyond the big "
    "three, backup and data tools, APIs driven by curl, CI and container-build diffs), first "
    "pass: 120 of 175 rated high (68.6%), 3 of 75 benign rated high (4.0%); general fixes "
    "followed (a subcommand, option or request body whose own name destroys counts when the "
    "catalog has no entry: `DeleteInstance`, `sites:delete`, `stream rm`, `drop_all`; SQL "
    "handed to an unknown tool is read; `at` and `systemd-run` are read), bringing it to 144 "
    "of 175, and its remaining misses are listed in `tests/reading/test_holdout.py`. The "
    "table's hold-out row is after "
    "all of that, so it is no longer unseen: the first-pass figures are the honest estimate "
    "of recall on commands nobody has tried yet, and every one of them misses the 99% target."
)
