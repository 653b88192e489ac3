"""Shared fixtures. Tests read shared data through JPAGENT_DATA_DIR (set by `make test`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared evaluation data folder (JSQuAD, Japanese MT-Bench), read in place."""
    path = Path(os.environ.get("JPAGENT_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not path.is_absolute():  # relative to the project root, whatever a test chdir'd to
        path = ROOT / path
    if not (path / "jsquad").is_dir():
        pytest.fail(f"shared data not found at {path}; set JPAGENT_DATA_DIR")
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No JPAGENT_* variables and no user config leak into a config test."""
    for name in list(os.environ):
        if name.startswith("JPAGENT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
