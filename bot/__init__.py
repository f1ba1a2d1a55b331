"""Countersign: a Slack approval gateway for AI agents."""

__version__ = "0.1.0"
