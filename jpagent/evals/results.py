"""Recording an eval's results: ``<stem>.md`` for people and ``<stem>.json`` for scripts.

Every eval and benchmark writes its pair into ``evals/results/`` (or the folder given) the same
way: UTF-8, Japanese kept readable in the JSON, the folder created when missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_results"]


def write_results(out_dir: str | Path, stem: str, markdown: str, data: Any) -> tuple[Path, Path]:
    """Write ``<out_dir>/<stem>.md`` (``markdown``) and ``.json`` (``data``); return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / f"{stem}.md", out / f"{stem}.json"
    md.write_text(markdown, encoding="utf-8")
    js.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return md, js
