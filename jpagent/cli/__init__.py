"""The ``jpagent`` command. Each sub-module registers its commands on :data:`app`."""

from __future__ import annotations

from jpagent.cli import demo, evals, kb, models, text  # noqa: F401  (registers commands)
from jpagent.cli.common import app


def main() -> None:
    """Console entry point."""
    app()


__all__ = ["app", "main"]
