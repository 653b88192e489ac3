"""``jpagent tokens``: which model's vocabulary is cheapest for your Japanese documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jpagent.cli.common import JsonFlag, app, err, print_json, table

DEFAULT_TOKENIZERS = ["estimate", "llamacpp:default"]


@app.command()
def tokens(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (any supported format)")],
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="tokenizer specs, repeatable or comma-separated: estimate, llamacpp:default, "
            "gguf:PATH, hf:PATH/tokenizer.json, sp:PATH.model",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Characters per token for each tokenizer over the files (higher = cheaper)."""
    from jpagent.loaders import load_many
    from jpagent.text.tokens import chars_per_token

    specs = [s.strip() for m in (models or DEFAULT_TOKENIZERS) for s in m.split(",") if s.strip()]
    report = load_many(paths)
    for skipped in report.skipped:
        err.print(f"skipped {skipped.path}: {skipped.reason}", markup=False, highlight=False)
    texts = [d.text for d in report.documents]
    rows = [r._asdict() for r in chars_per_token(texts, specs)]
    if json_out:
        print_json(
            {
                "documents": len(texts),
                "tokenizers": rows,
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in report.skipped],
            }
        )
        return
    rows.sort(key=lambda r: -r["chars_per_token"])
    table(
        rows,
        ["tokenizer", "texts", "chars", "tokens", "chars_per_token"],
        "characters per token (higher is cheaper)",
    )
