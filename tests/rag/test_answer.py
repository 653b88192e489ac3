"""answer() and ChatSession with a scripted model over a real knowledge base.

The model is scripted (tests/rag/conftest.py) because these tests check our parsing, packing,
prompting and citation mapping; retrieval is the real hybrid retriever over a real knowledge
base, and citation offsets are checked against the files as jpagent's loaders decode them.
"""

from __future__ import annotations

import logging

import pytest

from jpagent.loaders import load
from jpagent.rag import NO_ANSWER, ChatSession, RagConfig, answer, build_prompt, condense_question
from jpagent.types import Message

LEAVE_Q = "有給休暇は何日前までに申請しますか？"


def document_text(source: str) -> str:
    (doc,) = load(source)
    return doc.text


def test_citation_maps_to_source_path_and_offsets(retriever, scripted) -> None:
    model = scripted(["取得日の3日前までに勤怠システムで申請します[1]。"])
    result = answer(LEAVE_Q, retriever, model, k=3)
    (citation,) = result.citations
    assert citation.number == 1
    assert citation.source.endswith("休暇規程.md")
    cited = document_text(citation.source)[citation.start : citation.end]
    assert "3日前までに勤怠システムで申請" in cited
    assert citation.chunk_id.startswith(citation.source)


def test_answer_without_markers_gets_inferred_citations(retriever, scripted) -> None:
    model = scripted(["取得日の3日前までに勤怠システムで申請します。"])
    result = answer(LEAVE_Q, retriever, model, k=3)
    assert result.citations and all(c.inferred for c in result.citations)
    (citation,) = result.citations
    assert citation.source.endswith("休暇規程.md")
    assert (
        "3日前までに勤怠システムで申請"
        in document_text(citation.source)[citation.start : citation.end]
    )
    marked = answer(LEAVE_Q, retriever, scripted(["3日前までです[1]。"]), k=3)
    assert [c.inferred for c in marked.citations] == [False]  # markers win, nothing inferred
    invented = answer(LEAVE_Q, retriever, scripted(["社員食堂は11時から営業しています。"]), k=3)
    assert invented.citations == ()


def test_citation_into_a_cp932_file_points_at_decoded_text(retriever, scripted) -> None:
    model = scripted(["1泊につき1万2千円が上限です［１］。"])
    result = answer("出張の宿泊費の上限はいくらですか？", retriever, model, k=3)
    (citation,) = result.citations
    assert citation.source.endswith("出張旅費規程.txt")
    assert "1万2千円" in document_text(citation.source)[citation.start : citation.end]


def test_prompt_numbers_sources_with_file_heading_and_question(retriever, scripted) -> None:
    model = scripted(["10日です[1]。"])
    answer("入社6か月後の有給休暇は何日ですか？", retriever, model, k=3)
    (messages, options), = model.calls  # fmt: skip
    system, user = messages
    assert system.role == "system" and NO_ANSWER in system.content
    assert "[1]" in system.content
    assert user.content.startswith("# 資料\n[1] 出典: 休暇規程.md")
    assert "見出し: 休暇規程 > 第1章 年次有給休暇" in user.content
    assert "入社6か月後の有給休暇は何日ですか？" in user.content
    assert options.temperature == 0.0 and options.max_tokens == RagConfig().answer_tokens


def test_streaming_text_and_reasoning_kept_apart(retriever, scripted) -> None:
    model = scripted(["10日を付与します[1]。"], reasoning="資料[2]も見たが、[1]が根拠になる。")
    pieces: list[str] = []
    result = answer(LEAVE_Q, retriever, model, k=3, stream_callback=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == result.text == "10日を付与します[1]。"
    assert result.reasoning == "資料[2]も見たが、[1]が根拠になる。"
    assert [c.number for c in result.citations] == [1]  # [2] in the reasoning is not a citation
    assert set(result.timings) == {"retrieve", "prompt", "ttft", "generate", "total"}
    assert result.timings["total"] >= result.timings["generate"] >= result.timings["ttft"] >= 0


def test_numbers_naming_no_source_are_dropped_and_logged(retriever, scripted, caplog) -> None:
    model = scripted(["3日前までです[1][9]。"])
    with caplog.at_level(logging.WARNING, logger="jpagent.rag.answer"):
        result = answer(LEAVE_Q, retriever, model, k=3)
    assert [c.number for c in result.citations] == [1]
    assert result.text == "3日前までです[1][9]。"  # the text is never rewritten
    assert "[9]" in caplog.text


def test_no_answer_has_no_citations(retriever, scripted) -> None:
    model = scripted([NO_ANSWER + "[1]"])
    result = answer("社員食堂の営業時間は？", retriever, model, k=3)
    assert result.text.startswith(NO_ANSWER) and result.citations == ()


def test_no_room_for_any_source_answers_no_answer_without_the_model(retriever, scripted) -> None:
    # 600 characters of window cannot hold the prompt, a source and 512 for the answer
    model = scripted([], window=600)  # any call would fail
    pieces: list[str] = []
    result = answer(LEAVE_Q, retriever, model, k=3, stream_callback=pieces.append)
    assert result.text == NO_ANSWER and result.citations == () and pieces == [NO_ANSWER]
    assert model.calls == []


def test_tight_budget_packs_best_hits_first_and_cuts_nothing(retriever) -> None:
    hits = retriever.retrieve(LEAVE_Q, k=6)
    budget = len(hits[0].chunk.text) + 60  # the best hit and its header, little more
    prompt = build_prompt(
        LEAVE_Q, hits, context_window=100_000, count_tokens=len,
        config=RagConfig(max_context_tokens=budget),
    )  # fmt: skip
    sources = prompt.packed.sources
    assert sources and sources[0].chunk_id == hits[0].chunk.id
    assert prompt.packed.tokens <= budget
    texts = {h.chunk.text for h in hits}
    for s in sources:
        assert s.text in texts  # whole chunks only
    order = [h.chunk.id for h in hits]
    assert [order.index(s.chunk_id) for s in sources] == sorted(
        order.index(s.chunk_id) for s in sources
    )


def test_user_options_are_kept(retriever, scripted) -> None:
    from jpagent.llm.base import ChatOptions

    model = scripted(["10日です[1]。"])
    answer(LEAVE_Q, retriever, model, k=3, options=ChatOptions(temperature=0.7, max_tokens=64))
    (_, options), = model.calls  # fmt: skip
    assert (options.temperature, options.max_tokens) == (0.7, 64)


def test_condense_without_history_returns_the_question_unchanged(scripted) -> None:
    model = scripted([])
    assert condense_question("有給休暇は何日？", (), model) == "有給休暇は何日？"
    assert model.calls == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("書き換えた質問：「年次有給休暇は何日前までに申請が必要ですか？」",
         "年次有給休暇は何日前までに申請が必要ですか？"),
        ("\n年次有給休暇は何日前までに申請が必要ですか？\n（補足）", "年次有給休暇は何日前までに申請が必要ですか？"),
        ("", "それは何日前までに申請が必要ですか？"),  # empty rewrite: keep the question
    ],
)  # fmt: skip
def test_condense_cleans_the_rewrite(scripted, reply: str, expected: str) -> None:
    history = (
        Message("user", "有給休暇は何日もらえますか？"),
        Message("assistant", "10日です[1]。"),
    )
    model = scripted([reply])
    assert condense_question("それは何日前までに申請が必要ですか？", history, model) == expected
    (messages, _), = model.calls  # fmt: skip
    assert "ユーザー: 有給休暇は何日もらえますか？" in messages[1].content
    assert "アシスタント: 10日です[1]。" in messages[1].content
    assert "それは何日前までに申請が必要ですか？" in messages[1].content


def test_chat_session_retrieves_with_the_rewritten_follow_up(retriever, scripted) -> None:
    model = scripted(
        [
            "10日です[1]。",
            "書き換えた質問: 年次有給休暇は何日前までに申請が必要ですか？",
            "取得日の3日前までです[1]。",
        ]
    )
    session = ChatSession(retriever, model, config=RagConfig(k=3))
    first = session.ask("入社6か月で有給休暇は何日もらえますか？")
    assert first.timings["condense"] == 0.0 and len(model.calls) == 1
    second = session.ask("それは何日前までに申請が必要ですか？")
    assert session.last_query == "年次有給休暇は何日前までに申請が必要ですか？"
    answer_messages = model.calls[2][0]
    assert "年次有給休暇は何日前までに申請が必要ですか？" in answer_messages[-1].content
    assert "取得日の3日前までに" in answer_messages[-1].content  # retrieved with the rewrite
    assert [m.role for m in answer_messages[1:3]] == ["user", "assistant"]  # history in prompt
    assert [m.content for m in session.history] == [
        "入社6か月で有給休暇は何日もらえますか？",
        "10日です[1]。",
        "それは何日前までに申請が必要ですか？",
        "取得日の3日前までです[1]。",
    ]
    assert second.citations and second.citations[0].source.endswith("休暇規程.md")
    assert second.timings["total"] >= second.timings["condense"]


@pytest.mark.parametrize(
    ("question", "standalone", "expected"),
    [
        ("それは何日前まで？", "有給休暇は何日前まで？", "有給休暇は何日前まで？"),
        ("日当は？", "日当は？", "出張の宿泊費の上限は？\n日当は？"),  # model changed nothing
    ],
)
def test_retrieval_query(question: str, standalone: str, expected: str) -> None:
    history = (Message("user", "出張の宿泊費の上限は？"), Message("assistant", "1万2千円です[1]。"))
    from jpagent.rag import retrieval_query

    assert retrieval_query(question, standalone, history) == expected
    assert retrieval_query(question, question, ()) == question


def test_unchanged_rewrite_retrieves_with_the_previous_question(retriever, scripted) -> None:
    model = scripted(["1泊1万2千円です[1]。", "日当は？", "宿泊を伴う出張で1日3千円です[1]。"])
    session = ChatSession(retriever, model, config=RagConfig(k=2))
    session.ask("出張の宿泊費の上限はいくらですか？")
    result = session.ask("日当は？")
    assert session.last_query == "出張の宿泊費の上限はいくらですか？\n日当は？"
    user_prompt = model.calls[2][0][-1].content
    assert "宿泊を伴う出張で1日3千円" in user_prompt and user_prompt.rstrip().find("日当は？") > 0
    assert result.citations[0].source.endswith("出張旅費規程.txt")


def test_min_relative_score_leaves_out_distant_hits(retriever) -> None:
    hits = retriever.retrieve(LEAVE_Q, k=6)
    assert len(hits) > 1 and hits[1].score < 0.99 * hits[0].score
    prompt = build_prompt(
        LEAVE_Q, hits, context_window=100_000, count_tokens=len,
        config=RagConfig(min_relative_score=0.99),
    )  # fmt: skip
    assert [s.chunk_id for s in prompt.packed.sources] == [hits[0].chunk.id]
    everything = build_prompt(LEAVE_Q, hits, context_window=100_000, count_tokens=len)
    assert len(everything.packed.sources) > 1


LOOP = "第2条（申請）の"  # the shape of the loop the embedded model fell into (rag/README.md)


def test_a_runaway_loop_stops_the_model_and_keeps_one_copy(retriever, scripted, caplog) -> None:
    model = scripted(["[1] 取得日の3日前までです。" + LOOP * 200])
    pieces: list[str] = []
    with caplog.at_level(logging.WARNING, logger="jpagent.rag.answer"):
        result = answer(LEAVE_Q, retriever, model, stream_callback=pieces.append)
    assert result.looped
    assert result.text == "[1] 取得日の3日前までです。" + LOOP
    assert model.closed and model.pulled < 40  # of 540 pieces: stopped, not run to the end
    assert "".join(pieces).startswith(result.text)  # what was streamed stays streamed
    assert [c.number for c in result.citations] == [1]
    assert LOOP in caplog.text


def test_loop_stopping_can_be_turned_off(retriever, scripted) -> None:
    reply = "[1] 3日前まで。" + LOOP * 20
    model = scripted([reply])
    result = answer(LEAVE_Q, retriever, model, config=RagConfig(stop_loops=False))
    assert not result.looped and result.text == reply


def test_a_loop_in_the_reasoning_stops_the_model_too(retriever, scripted) -> None:
    model = scripted(["3日前までです[1]。"], reasoning="資料[1]を見ると" + "つまり、" * 40)
    result = answer(LEAVE_Q, retriever, model)
    assert result.looped and result.reasoning == "資料[1]を見るとつまり、"
    assert result.text == "" and model.pulled == 0  # stopped before any answer text


def test_an_answer_without_a_loop_is_untouched(retriever, scripted) -> None:
    reply = "取得日の3日前までです[1]。急病の場合は当日の始業時刻までに連絡します[1]。"
    result = answer(LEAVE_Q, retriever, scripted([reply]))
    assert not result.looped and result.text == reply
