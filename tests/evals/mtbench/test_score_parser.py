"""The judge score parser on a table of real-looking judge outputs (Japanese and English)."""

from __future__ import annotations

import pytest

from jpagent.evals.mtbench.judge import parse_score

CASES = [
    # (judgment text, expected score or None)
    ("アシスタントの回答は正確で、計算も正しいです。\n\n評価：[[8]]", 8),
    ("回答は質問に答えていますが、詳細が不足しています。評価: [[6]]", 6),
    ("説明は丁寧ですが、2年目の金額を誤っています。\n評価：［［３］］", 3),  # full-width brackets
    ("よく書けています。評価：[[９]]", 9),  # full-width digit
    ("参考回答と一致しています。[[10]]", 10),
    ("部分的に正しいです。評価：[[7.5]]", 7.5),
    ("The response is accurate and helpful.\n\nRating: [[8]]", 8),
    ("Rating: [[ 4 ]]", 4),
    ('フォーマット"[[評価]]"に従います。\n評価：[[5]]', 5),  # echoed format, then the score
    ("評価：[7]", 7),  # FastChat's one_score_pattern_backup
    ("[[6]] の理由: ... 最終的には [[9]]", 6),  # FastChat takes the first match
    ("この回答は日本語で書かれていません。評価は低くなります。", None),
    ("評価：[[評価]]", None),
    ("評価：[[0]]", None),
    ("評価：[[11]]", None),
    ("Rating: [[8/10]]", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse_score(text: str, expected) -> None:
    parsed = parse_score(text)
    assert parsed.score == expected
    if expected is None:
        assert parsed.problem
    else:
        assert parsed.problem == ""
        assert type(parsed.score) is type(expected)
