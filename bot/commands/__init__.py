"""Command groups of the `countersign` CLI, one module each."""

from __future__ import annotations

import argparse

Commands = argparse._SubParsersAction[argparse.ArgumentParser]  # what add_subparsers() returns
