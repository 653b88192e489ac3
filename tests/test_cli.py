"""The CLI contract: --help everywhere, --json forms, exit codes 0 / 1 (user error) / 2 (usage)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from jpagent.cli import app

runner = CliRunner()


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["models"],
        ["config"],
        ["models", "list"],
        ["models", "path"],
        ["models", "verify"],
        ["models", "recommend"],
        ["config", "show"],
        ["version"],
    ],
)
def test_help(args):
    result = run(*args, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_version_json():
    result = run("version", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["version"]


def test_config_show_json_reports_sources(clean_env):
    (clean_env / "jpagent.toml").write_text('[kb]\npath = "社内kb"\n', encoding="utf-8")
    result = run("config", "show", "--json", env={"JPAGENT_LLM_TIMEOUT": "9"})
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in json.loads(result.stdout)["settings"]}
    assert rows["kb.path"]["value"] == "社内kb"
    assert rows["kb.path"]["source"].startswith("file:")
    assert rows["llm.timeout"] == {
        **rows["llm.timeout"],
        "value": 9.0,
        "source": "env:JPAGENT_LLM_TIMEOUT",
    }
    assert rows["models.chat"]["source"] == "default"


def test_config_flag_selects_file(clean_env):
    other = clean_env / "other.toml"
    other.write_text('[models]\nembedder = "sentence-transformers:/m/ruri"\n', encoding="utf-8")
    result = run("--config", str(other), "config", "show", "--json")
    rows = {r["key"]: r for r in json.loads(result.stdout)["settings"]}
    assert rows["models.embedder"]["value"] == "sentence-transformers:/m/ruri"


def test_user_error_exit_1_with_message(clean_env):
    result = run("config", "show", env={"JPAGENT_MODELS_CHAT": "gpt4"})
    assert result.exit_code == 1
    assert "JPAGENT_MODELS_CHAT" in result.stderr
    assert "不正" in result.stderr


def test_usage_error_exit_2():
    result = run("models", "no-such-command")
    assert result.exit_code == 2


def test_models_list_json(clean_env):
    result = run("models", "list", "--json")
    assert result.exit_code == 0, result.output
    names = [m["name"] for m in json.loads(result.stdout)["models"]]
    assert names == [
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        "multilingual-e5-small-q4",
        "all-minilm-l6-v2",
    ]


def test_models_path_unknown_is_user_error():
    result = run("models", "path", "qwen3-235b")
    assert result.exit_code == 1
    assert "Unknown model asset" in result.stderr


def test_models_path_json_embedder():
    result = run("models", "path", "multilingual-e5-small-q4", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"].endswith("e5-small-q4.bin")


def test_console_entry_point_exit_codes(clean_env):
    """The installed entry point, as a user runs it."""
    cmd = [sys.executable, "-m", "jpagent.cli"]
    ok = subprocess.run([*cmd, "version"], capture_output=True, text=True)
    assert ok.returncode == 0 and "jpagent" in ok.stdout
    bad = subprocess.run(
        [*cmd, "config", "show"],
        capture_output=True,
        text=True,
        env={"PATH": "", "JPAGENT_KB_PAHT": "x", "HOME": str(clean_env)},
    )
    assert bad.returncode == 1 and "JPAGENT_KB_PATH" in bad.stderr
    usage = subprocess.run([*cmd, "--no-such-flag"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_models_recommend_json():
    result = run("models", "recommend", "--vram", "16", "--json")
    assert result.exit_code == 0, result.output
    recs = json.loads(result.stdout)["recommendations"]
    models = {r["model"] for r in recs}
    assert "gpt-oss-20b" in models and "llama-3.1-swallow-8b-instruct" in models
    assert all(r["memory_gib"] <= 16 for r in recs)
    assert recs[0]["japanese"] == "native"


def test_models_recommend_offload_is_flagged():
    result = run("models", "recommend", "--vram", "8", "--ram", "64", "--quant", "Q4_K_M", "--json")
    recs = json.loads(result.stdout)["recommendations"]
    assert {r["quant"] for r in recs} == {"Q4_K_M"}
    assert any(r["offload"] and r["memory_gib"] > 8 for r in recs)


def test_error_text_with_brackets_is_printed_verbatim(clean_env):
    """Rich markup must not eat '[models]' or '[1]' in an error message."""
    (clean_env / "jpagent.toml").write_text("[models]\nchatt = 1\n", encoding="utf-8")
    result = run("config", "show")
    assert result.exit_code == 1
    assert "'models.chatt'" in result.stderr
