"""JSQuAD normalisation, exact match and character F1 on hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpagent.evals.qa import (
    QAItem,
    QAReport,
    char_f1,
    exact_match,
    extract_answer,
    gold_answers,
    normalize_answer,
)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("小笠原諸島", "小笠原諸島"),
        ("「小笠原諸島」。", "小笠原諸島"),  # brackets and 。 removed
        ("ＡＢＣ　１２３", "abc123"),  # NFKC folds width; full-width space removed; lower case
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana → full width
        ("スタンリー・ミラー", "スタンリーミラー"),  # 中黒 is punctuation
        ("1,000円", "1000円"),
        (" New York! ", "newyork"),
        ("㍻", "平成"),  # NFKC compatibility character
        ("～約10km～", "約10km"),
    ],
)
def test_normalize_answer(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


@pytest.mark.parametrize(
    ("prediction", "golds", "em", "f1"),
    [
        ("小笠原諸島", ["小笠原諸島"], 1.0, 1.0),
        ("「小笠原諸島」", ["小笠原諸島"], 1.0, 1.0),
        # 5 gold chars, prediction 小笠原 (3 chars, all shared): P=1, R=3/5 -> F1=0.75
        ("小笠原", ["小笠原諸島"], 0.0, 0.75),
        # max over golds: 天体暦 equals the third gold
        ("天体暦", ["事前推算の天体暦", "天体暦"], 1.0, 1.0),
        # 雨季の一種 vs 雨季: shared 2, P=2/5, R=1 -> F1 = 2*0.4/1.4 = 0.5714…
        ("雨季の一種", ["雨季"], 0.0, 4 / 7),
        # character multiset: 東京都 vs 京都: shared 京,都 = 2; P=2/3 R=1 -> 0.8
        ("東京都", ["京都"], 0.0, 0.8),
        # repeated characters count with multiplicity: ああい vs あい: shared 2, P=2/3, R=1
        ("ああい", ["あい"], 0.0, 0.8),
        ("大阪", ["ビーレフェルト"], 0.0, 0.0),
        ("", ["東京"], 0.0, 0.0),
        ("。", ["東京"], 0.0, 0.0),
    ],
)
def test_exact_match_and_char_f1(prediction, golds, em, f1) -> None:
    assert exact_match(prediction, golds) == em
    assert char_f1(prediction, golds) == pytest.approx(f1)


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("小笠原諸島", "小笠原諸島"),
        ("答え：小笠原諸島。", "小笠原諸島"),
        ("答え: 「雨季」\n説明: 梅雨は雨季の一種です。", "雨季"),
        ("\n\nスタンリー・ミラー [1]\n", "スタンリー・ミラー"),
    ],
)
def test_extract_answer(reply: str, answer: str) -> None:
    assert extract_answer(reply) == answer


def test_gold_answers_reads_every_answer(tmp_path: Path) -> None:
    data = {
        "data": [
            {
                "title": "梅雨",
                "paragraphs": [
                    {
                        "context": "梅雨 [SEP] 梅雨は雨季の一種である。",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "梅雨とは何季の一種か?",
                                "answers": [
                                    {"text": "雨季", "answer_start": 13},
                                    {"text": "雨季", "answer_start": 13},
                                    {"text": "雨季の一種", "answer_start": 13},
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert gold_answers(path) == {"q1": ("雨季", "雨季の一種")}


def item(setting: str, f1: float, total: float, generate: float, retrieve: float = 0.0):
    return QAItem(setting, "q", "質問", ("答",), "答", "答", f1, f1, None, 100, 11, retrieve, 0.5,
                  generate, total)  # fmt: skip


def test_report_scores_ratio_and_time_outside_the_model() -> None:
    items = (
        item("oracle", 1.0, total=2.0, generate=1.9),
        item("oracle", 0.5, total=2.0, generate=1.9),
        item("rag", 0.5, total=3.0, generate=2.0, retrieve=0.5),
        item("rag", 0.7, total=3.0, generate=2.0, retrieve=0.5),
    )
    report = QAReport("data.json", "llamacpp:default", 2, 0, {}, items, {})
    scores = report.scores()
    assert scores["oracle"]["f1"] == pytest.approx(0.75)
    assert scores["rag"]["f1_vs_oracle"] == pytest.approx(0.6 / 0.75)
    assert scores["oracle"]["outside_share"] == pytest.approx(0.2 / 4.0)
    assert scores["rag"]["outside_share"] == pytest.approx(2.0 / 6.0)
    assert scores["rag"]["outside_share_excl_retrieval"] == pytest.approx(1.0 / 5.0)
    # 10 decode tokens per answer over generate - ttft seconds
    assert scores["rag"]["decode_tps"] == pytest.approx(20 / 3.0)
