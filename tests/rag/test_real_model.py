"""End to end with the embedded default model (llamacpp:default, greedy): few and short.

Real retrieval over the tiny knowledge base of tests/rag/conftest.py, real llama.cpp in process.
"""

from __future__ import annotations

import pytest

from jpagent.llm.base import ChatOptions
from jpagent.rag import answer, condense_question, is_no_answer
from jpagent.types import Message

pytestmark = pytest.mark.slow

SHORT = ChatOptions(temperature=0.0, max_tokens=64)


def test_answer_from_the_sources_cites_them(retriever, real_model) -> None:
    result = answer(
        "有給休暇は何日前までに申請しますか？", retriever, real_model, k=3, options=SHORT
    )
    assert "3日" in result.text
    assert result.citations
    assert all(c.source.endswith("休暇規程.md") for c in result.citations)
    assert result.timings["ttft"] > 0 and result.timings["generate"] > 0


def test_question_the_sources_cannot_answer_says_so(retriever, real_model) -> None:
    result = answer(
        "社員食堂の営業時間は何時から何時までですか？", retriever, real_model, k=3, options=SHORT
    )
    assert is_no_answer(result.text), result.text
    assert result.citations == ()


def test_follow_up_is_rewritten_to_a_standalone_query(retriever, real_model) -> None:
    history = (
        Message("user", "入社して6か月たつと年次有給休暇は何日もらえますか？"),
        Message("assistant", "10日です[1]。"),
    )
    follow_up = "それは何日前までに申請が必要ですか？"
    query = condense_question(follow_up, history, real_model)
    assert "有給" in query, query
    assert "それ" not in query, query
    # both files speak of 申請 (3 days ahead for leave, 5 for travel): the rewrite finds leave
    top = [h.chunk.text for h in retriever.retrieve(query, k=2)]
    assert any("取得日の3日前までに" in t for t in top), top
