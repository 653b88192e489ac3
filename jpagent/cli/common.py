"""Shared pieces of the ``jpagent`` command: the root app, consoles, output helpers.

Exit codes: 0 ok; 1 a user error (the message says what and how to fix it); 2 usage.
Every command that prints results takes ``--json``: that form is part of the contract, so
fields are only ever added, never renamed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

from jpagent.config import Config, load_config
from jpagent.errors import JpagentError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class _Group(TyperGroup):
    """Turns a :class:`JpagentError` anywhere below into a message on stderr and exit code 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JpagentError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    help="jpagent — Japanese-first RAG and agents on local models / 日本語ファーストのRAG基盤",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="jpagent.toml to use instead of ./jpagent.toml")
    ] = None,
) -> None:
    ctx.obj = {"config_file": config}


def get_config(ctx: typer.Context, **flags: tuple[Any, str]) -> Config:
    """Effective config: files < env < the given ``section.key=(value, --flag)`` flags."""
    root = ctx.find_root()
    config_file = (root.obj or {}).get("config_file")
    return load_config(config_file, {k.replace("__", "."): v for k, v in flags.items()})


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def table(rows: list[dict[str, Any]], columns: list[str], title: str = "") -> None:
    grid = Table(title=title or None, show_lines=False)
    for col in columns:
        grid.add_column(col, overflow="fold")
    for row in rows:
        grid.add_row(*(str(row.get(c, "")) for c in columns))
    out.print(grid)


def bytes_progress(total: int, label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
