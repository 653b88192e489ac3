"""End to end with the embedded default model (llamacpp:default, greedy): few and short.

Real retrieval over the tiny knowledge base of tests/rag/conftest.py, real llama.cpp in process.
"""

from __future__ import annotations

import pytest

from jpagent.llm.base import ChatOptions
from jpagent.rag import answer, condense_question, is_no_answer
from jpagent.rag.answer import generate
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


def test_a_real_loop_is_stopped_and_the_model_answers_the_next_question(real_model) -> None:
    # Greedy, the 1.5B model asked to repeat a sentence repeats it until it stops on its own
    # (~12 copies); the guard closes the llama.cpp stream after six and keeps one.
    thanks = "ありがとうございます。"
    ask = [Message("user", f"「{thanks}」という文を、改行せずに100回続けて書いてください。")]
    opts = ChatOptions(temperature=0.0, max_tokens=200)
    unguarded = generate(real_model, ask, options=opts)
    assert unguarded.text.count(thanks) > 6 and not unguarded.looped
    guarded = generate(real_model, ask, options=opts, stop_loops=True)
    assert guarded.looped and guarded.text == thanks
    # the stream was closed, not left holding the in-process model: the next call runs
    after = generate(real_model, [Message("user", "日本の首都はどこですか？")], options=SHORT)
    assert "東京" in after.text and not after.looped
