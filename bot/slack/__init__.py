"""The Slack adapter: cards, votes, modals, reminders, `/countersign` and App Home.

Slack lives only in this package. It calls `bot.service.ApprovalService` like any other adapter
and receives request events from the durable outbox (`notifier.py`). Block Kit is built by pure
functions (`blocks.py`, `views.py`, `reports.py`); listeners stay thin (`listeners.py`).
"""
