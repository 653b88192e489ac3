"""Prompt templates: Japanese prompts are data, kept as Jinja2 files in ``jpagent/rag/prompts``.

Templates are rendered with ``StrictUndefined`` (a missing variable is an error, never an empty
string), ``trim_blocks`` and ``lstrip_blocks`` (block tags leave no stray blank lines). A user can
point :func:`render_template` at a folder of their own templates with the same names; a name
missing there falls back to the shipped one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from jpagent.errors import ConfigError

__all__ = ["PROMPT_DIR", "render_template"]

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"


@functools.lru_cache(maxsize=8)
def _environment(prompt_dir: str | None) -> jinja2.Environment:
    folders = [prompt_dir] if prompt_dir else []
    folders.append(str(PROMPT_DIR))
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders, encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render_template(name: str, prompt_dir: Path | str | None = None, **context: Any) -> str:
    """Render the template ``name`` (e.g. ``"answer_system.j2"``) with ``context``; strip the ends.

    ``prompt_dir`` is an optional folder whose templates take precedence over the shipped ones.
    Raises :class:`ConfigError` naming the template when it is missing or uses an undefined
    variable.
    """
    env = _environment(str(prompt_dir) if prompt_dir else None)
    try:
        return env.get_template(name).render(**context).strip()
    except jinja2.TemplateNotFound as exc:
        where = f"{prompt_dir} or {PROMPT_DIR}" if prompt_dir else str(PROMPT_DIR)
        raise ConfigError(
            f"Prompt template {name!r} not found in {where}.",
            f"プロンプトテンプレート {name!r} が {where} に見つかりません。",
            hint="Check the template name and the prompt_dir setting.",
        ) from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            f"Prompt template {name!r} uses an undefined variable: {exc.message}.",
            f"プロンプトテンプレート {name!r} が未定義の変数を使っています: {exc.message}",
            hint=f"Variables passed: {', '.join(sorted(context)) or '(none)'}.",
        ) from exc
