"""``manifest.json``: what a knowledge base folder was built with.

The manifest names the schema version, the embedder (spec, name, dimension), the analyzer (its
config and ``Analyzer.settings()``) and the chunk settings. Vectors from two embedders, or BM25
terms from two analyzers, cannot be mixed in one index, so :func:`check_compatible` refuses such
an open with a message saying how to re-index. Writes go through a temporary file and
``os.replace``, so a reader sees the old or the new manifest, never half of one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, TypeVar

from jpagent.errors import JpagentError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

T = TypeVar("T")


class KBMismatchError(JpagentError):
    """The knowledge base was built with another embedder, analyzer or schema."""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def read_manifest(kb_dir: Path) -> dict[str, Any] | None:
    """The manifest of ``kb_dir``, or None if the folder has none."""
    path = kb_dir / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise JpagentError(
            f"{path} is not valid JSON ({exc}); the knowledge base folder is damaged.",
            f"{path} が JSON として読めません。ナレッジベースのフォルダが壊れています。",
            hint=f"delete {kb_dir} and ingest again",
        ) from None
    if not isinstance(data, dict):
        raise JpagentError(f"{path} is not a JSON object.", f"{path} の形式が不正です。")
    return data


def write_manifest(kb_dir: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (temporary file, fsync, ``os.replace``)."""
    tmp = kb_dir / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, kb_dir / MANIFEST)


def config_to_json(config: Any) -> dict[str, Any]:
    """A frozen config dataclass as JSON-ready data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config), ensure_ascii=False, default=str))


def config_from_json(cls: type[T], data: dict[str, Any] | None) -> T:
    """Rebuild a config dataclass from :func:`config_to_json` output; unknown keys dropped."""
    if not data:
        return cls()
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    return cls(**kwargs)


def _reindex_hint(kb_dir: Path) -> str:
    return (
        f"re-index with the new settings: `jpagent ingest PATH... --kb {kb_dir} --reindex` "
        f"(SDK: KnowledgeBase.open(..., reindex=True)), or delete the folder {kb_dir}; "
        "or keep the settings the knowledge base was built with"
    )


def _reindex_hint_ja(kb_dir: Path) -> str:
    return (
        f"新しい設定で作り直すには `jpagent ingest PATH... --kb {kb_dir} --reindex` を実行するか、"
        f"フォルダ {kb_dir} を削除してください。"
    )


def check_schema(kb_dir: Path, manifest: dict[str, Any]) -> None:
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise KBMismatchError(
            f"Knowledge base {kb_dir} has schema version {version}; this jpagent reads "
            f"version {SCHEMA_VERSION}.",
            f"ナレッジベース {kb_dir} のスキーマ版 {version} はこの jpagent（版 {SCHEMA_VERSION}）"
            "では読めません。" + _reindex_hint_ja(kb_dir),
            hint=_reindex_hint(kb_dir),
        )


def check_embedder(kb_dir: Path, manifest: dict[str, Any], spec: str, dim: int | None) -> None:
    """Refuse ``spec`` (and ``dim`` when known) unless the manifest's embedder is the same."""
    stored = manifest.get("embedder") or {}
    known = {stored.get("spec"), stored.get("name")} - {None}
    stored_dim = stored.get("dim")
    same_spec = not known or spec in known
    same_dim = dim is None or stored_dim is None or int(stored_dim) == int(dim)
    if same_spec and same_dim:
        return
    built = f"{stored.get('spec')} (dim {stored_dim})"
    asked = f"{spec}" + (f" (dim {dim})" if dim is not None else "")
    raise KBMismatchError(
        f"Knowledge base {kb_dir} was built with embedder {built}, but this run uses {asked}. "
        "Vectors of different embedders cannot be searched together.",
        f"ナレッジベース {kb_dir} は埋め込みモデル {built} で作成されていますが、"
        f"今回は {asked} が指定されました。異なるモデルのベクトルは混在できません。"
        + _reindex_hint_ja(kb_dir),
        hint=_reindex_hint(kb_dir) + f" (models.embedder = {stored.get('spec')!r})",
    )


def check_analyzer(kb_dir: Path, manifest: dict[str, Any], settings: dict[str, Any]) -> None:
    """Refuse analyzer ``settings`` that differ from the manifest's."""
    stored = (manifest.get("analyzer") or {}).get("settings")
    if stored is None:
        return
    current = json.loads(json.dumps(settings, ensure_ascii=False, default=str))
    if stored == current:
        return
    keys = sorted(set(stored) | set(current))
    diff = ", ".join(
        f"{k}: {stored.get(k)!r} -> {current.get(k)!r}"
        for k in keys
        if stored.get(k) != current.get(k)
    )
    raise KBMismatchError(
        f"Knowledge base {kb_dir} was built with other analyzer settings ({diff}). "
        "BM25 terms from two analyzers cannot be searched together.",
        f"ナレッジベース {kb_dir} は別の形態素解析設定で作成されています（{diff}）。"
        + _reindex_hint_ja(kb_dir),
        hint=_reindex_hint(kb_dir),
    )
