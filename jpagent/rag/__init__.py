"""Answers with citations: prompt assembly from retrieved sources, chat sessions.

``answer(question, retriever, chat_model)`` retrieves, packs the best hits into the model's
context window as numbered sources, streams the model's answer and resolves its ``[n]``
citations to source paths, pages and offsets. ``ChatSession`` rewrites follow-up questions to
standalone queries before retrieving. Prompts are Jinja2 files in ``jpagent/rag/prompts``.
"""

from jpagent.rag.answer import Prompt, RagConfig, answer, build_prompt, generate
from jpagent.rag.chat import ChatSession, condense_question, retrieval_query
from jpagent.rag.citations import (
    NO_ANSWER,
    CitationMark,
    ResolvedCitations,
    cited_numbers,
    is_no_answer,
    parse_citations,
    resolve_citations,
)
from jpagent.rag.packing import PackedContext, Source, pack_sources
from jpagent.rag.templates import render_template

__all__ = [
    "NO_ANSWER",
    "ChatSession",
    "CitationMark",
    "PackedContext",
    "Prompt",
    "RagConfig",
    "ResolvedCitations",
    "Source",
    "answer",
    "build_prompt",
    "cited_numbers",
    "condense_question",
    "generate",
    "is_no_answer",
    "pack_sources",
    "parse_citations",
    "render_template",
    "resolve_citations",
    "retrieval_query",
]
