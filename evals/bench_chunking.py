"""Chunking benchmark on JSQuAD articles: jpagent against LangChain and LlamaIndex defaults.

    .venv/bin/python evals/bench_chunking.py --data ../shared/data/jsquad/valid-v1.3.json

(``--data`` defaults to ``$JPAGENT_DATA_DIR/jsquad/valid-v1.3.json``.)

**Articles.** Each JSQuAD validation article becomes one text: its title as a first heading
line, then its paragraphs (the ``"title [SEP] "`` prefix removed) joined with ``"\\n\\n"``. Each
question's first gold answer is mapped from its paragraph into the article (answers that point
into the title prefix, i.e. are the title itself, are left out and counted).

**Systems**, at budgets of 256 and 512 tokens:

* jpagent ``chunk_text`` (1 sentence of overlap), budget counted with the Qwen2.5 tokenizer
  of the embedded GGUF (exact), and once more with the ``estimate`` counter;
* LangChain ``RecursiveCharacterTextSplitter`` defaults (separators ``\\n\\n``, ``\\n``, space,
  ``""``; overlap 200; ``len`` as length), ``chunk_size`` in characters = budget × the corpus's
  characters per Qwen token, so that a chunk holds about as many Qwen tokens as jpagent's;
  plus its literal defaults 4000/200 once;
* LlamaIndex ``SentenceSplitter`` defaults (overlap 200 tokens, its default tokenizer
  tiktoken ``cl100k_base``), ``chunk_size`` = the budget in its own tokens.

Every chunk's size is also measured in Qwen tokens, so the budgets can be compared.

**Metrics.** Share of chunks that end at a sentence boundary (judged by the same neutral rule
for everyone: the chunk's last non-blank character is ``。！？!?．.``, optionally followed by
closing brackets/quotes, or the chunk ends at a line break or the end of the article); share of
answer spans no chunk contains whole, share with a chunk edge inside them, and share whose
sentence (neutral rule: up to 。！？!? or a line break) no chunk contains whole; chunking
throughput in characters per CPU second (after one warm-up article); and the BM25 analyzer against a bare fugashi loop over the 1,145
paragraphs (CPU time, median of interleaved rounds). The ``estimate`` counter's calibration
against Qwen on the paragraphs is reported too.

Results go to ``evals/results/chunking-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "evals" / "results"
sys.path.insert(0, str(ROOT))

_END = re.compile(r"[。！？!?．.][」』）)】”’\"']*$")
# Neutral sentence rule for the answer-sentence metric: up to a terminator or a line break.
_NAIVE_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")


@dataclass
class Article:
    id: str
    text: str
    answers: list[tuple[int, int]] = field(default_factory=list)


def load_articles(path: Path) -> tuple[list[Article], list[str], int]:
    """Articles (title line + paragraphs) with answer spans in article offsets; paragraphs;
    the number of answers left out because they point into the ``"title [SEP] "`` prefix."""
    data = json.loads(path.read_text(encoding="utf-8"))
    articles, paragraphs = [], []
    skipped = 0
    for a in data["data"]:
        title = a["title"]
        parts, answers = [title], []
        offset = len(title) + 2
        for p in a["paragraphs"]:
            ctx = p["context"]
            prefix = ctx.index(" [SEP] ") + len(" [SEP] ") if " [SEP] " in ctx else 0
            body = ctx[prefix:]
            paragraphs.append(body)
            for q in p["qas"]:
                ans = q["answers"][0]
                start = ans["answer_start"] - prefix
                if start < 0 or body[start : start + len(ans["text"])] != ans["text"]:
                    skipped += 1  # the answer is the title in the prefix (or misaligned)
                    continue
                answers.append((offset + start, offset + start + len(ans["text"])))
            parts.append(body)
            offset += len(body) + 2
        text = "\n\n".join(parts)
        for s, e in answers:
            assert text[s:e], (title, s, e)
        articles.append(Article(title, text, answers))
    return articles, paragraphs, skipped


# ----------------------------------------------------------------------------- systems
Spans = list[tuple[int, int]]


def jpagent_chunker(budget: int, counter: Any, overlap: int = 1) -> Callable[[Article], Spans]:
    from jpagent.text.chunk import ChunkConfig, chunk_text

    config = ChunkConfig(max_tokens=budget, overlap_sentences=overlap)
    cut_pieces = [0]  # chunks ending inside an over-long sentence

    def run(a: Article) -> Spans:
        meta = {"headings": [[1, 0, a.id]]}
        chunks = chunk_text(a.text, a.id, a.id, config, counter, meta)
        cut_pieces[0] += sum(not c.metadata["sentence_end"] for c in chunks)
        return [(c.start, c.end) for c in chunks]

    run.cut_pieces = cut_pieces  # type: ignore[attr-defined]
    return run


def langchain_chunker(chunk_size: int, overlap: int = 200) -> Callable[[Article], Spans]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=overlap, add_start_index=True
    )

    def run(a: Article) -> Spans:
        docs = splitter.create_documents([a.text])
        spans = []
        for d in docs:
            s = d.metadata["start_index"]
            assert a.text[s : s + len(d.page_content)] == d.page_content
            spans.append((s, s + len(d.page_content)))
        return spans

    return run


def llamaindex_chunker(chunk_size: int, overlap: int = 200) -> Callable[[Article], Spans]:
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=overlap)

    def run(a: Article) -> Spans:
        nodes = splitter.get_nodes_from_documents([Document(text=a.text)])
        spans, pos = [], 0
        for n in nodes:
            content = n.get_content()
            s = n.start_char_idx
            if s is None or a.text[s : s + len(content)] != content:
                s = a.text.find(content, pos)
            if s < 0:
                raise RuntimeError(f"LlamaIndex chunk not found in article {a.id}")
            spans.append((s, s + len(content)))
            pos = s
        return spans

    return run


# ----------------------------------------------------------------------------- metrics
def at_sentence_boundary(text: str, end: int) -> bool:
    body = text[:end].rstrip()
    if _END.search(body[-8:]):
        return True
    rest = text[end:]
    stripped = rest.lstrip(" \t\u3000")
    return not stripped or stripped[0] in "\r\n"


def evaluate(name: str, budget: int, run: Callable[[Article], Spans], articles, qwen) -> dict:
    run(articles[0])  # warm up: lazy imports, tokenizer files
    if hasattr(run, "cut_pieces"):
        run.cut_pieces[0] = 0
    t0 = time.process_time()
    spans_per_article = [run(a) for a in articles]
    elapsed = time.process_time() - t0
    chars = sum(len(a.text) for a in articles)
    n_chunks = boundary = over_budget = 0
    tokens: list[int] = []
    answers = not_contained = edge_inside = sentence_split = 0
    for a, spans in zip(articles, spans_per_article, strict=True):
        sentences = [m.span() for m in _NAIVE_SENTENCE.finditer(a.text)]
        for s, e in spans:
            n_chunks += 1
            boundary += at_sentence_boundary(a.text, e)
            t = qwen.count(a.text[s:e])
            tokens.append(t)
            over_budget += t > budget
        for s, e in a.answers:
            answers += 1
            not_contained += not any(cs <= s and e <= ce for cs, ce in spans)
            edge_inside += any(s < cs < e or s < ce < e for cs, ce in spans)
            ss, se = next((x, y) for x, y in sentences if x <= s < y)
            se = max(se, e)
            sentence_split += not any(cs <= ss and se <= ce for cs, ce in spans)
    cut_pieces = getattr(run, "cut_pieces", [None])[0]
    return {
        "system": name,
        "budget": budget,
        "chunks": n_chunks,
        "jpagent_cut_pieces": cut_pieces,
        "mean_chars": round(sum(e - s for sp in spans_per_article for s, e in sp) / n_chunks, 1),
        "mean_qwen_tokens": round(sum(tokens) / n_chunks, 1),
        "max_qwen_tokens": max(tokens),
        "over_budget_qwen": round(over_budget / n_chunks, 4),
        "sentence_boundary": round(boundary / n_chunks, 4),
        "answers": answers,
        "answer_not_in_any_chunk": round(not_contained / answers, 4),
        "answer_edge_inside": round(edge_inside / answers, 4),
        "answer_sentence_in_no_chunk": round(sentence_split / answers, 4),
        "chars_per_s": round(chars / elapsed),
        "seconds": round(elapsed, 2),
    }


def analyzer_ratio(paragraphs: list[str], rounds: int = 21) -> dict:
    """Analyzer vs a bare fugashi loop: CPU time, rounds interleaved (bare, warm, ...).

    ``warm`` reuses one analyzer (the steady state of a long ingest: MeCab lines already mapped
    to terms); ``cold`` builds a new analyzer each round (a first pass over the paragraphs).
    The headline is the median of the per-round ratios (each round's runs see the same machine
    load); the ratio of the best times is reported too. The analyzer's terms are checked
    against its full-line path (the exact reference) first.
    """
    import fugashi

    from jpagent.text.morph import Analyzer

    tagger = fugashi.Tagger()
    analyzer = Analyzer()
    reference = Analyzer()
    reference._line_terms = None  # full MeCab lines only
    same = analyzer.analyze_many(paragraphs) == reference.analyze_many(paragraphs)

    def bare() -> None:
        for p in paragraphs:
            [w.surface for w in tagger(p)]

    def warm() -> None:
        analyzer.analyze_many(paragraphs)

    def cold() -> None:
        Analyzer().analyze_many(paragraphs)

    def timed(run: Any) -> float:
        t0 = time.process_time()
        run()
        return time.process_time() - t0

    load_start = os.getloadavg()[0]
    bare(), warm(), cold()  # warm up all (dictionary pages, regex caches)
    tb, ta, tb2, tc = [], [], [], []
    for _ in range(rounds):  # warm and bare in pairs; cold ones apart (they build analyzers)
        tb.append(timed(bare))
        ta.append(timed(warm))
    for _ in range(rounds):
        tb2.append(timed(bare))
        tc.append(timed(cold))
    paired = sorted(a / b for a, b in zip(ta, tb, strict=True))
    paired_cold = sorted(c / b for c, b in zip(tc, tb2, strict=True))
    chars = sum(len(p) for p in paragraphs)
    return {
        "paragraphs": len(paragraphs),
        "rounds": rounds,
        "same_terms_as_full_lines": same,
        "bare_fugashi_s": round(min(tb), 3),
        "analyzer_s": round(min(ta), 3),
        "ratio": round(paired[rounds // 2], 3),
        "ratio_of_best_times": round(min(ta) / min(tb), 3),
        "ratio_range": [round(paired[0], 3), round(paired[-1], 3)],
        "analyzer_chars_per_s": round(chars / min(ta)),
        "cold_analyzer_s": round(min(tc), 3),
        "cold_ratio": round(paired_cold[rounds // 2], 3),
        "load_avg_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "bare": "[w.surface for w in fugashi.Tagger()(p)] per paragraph",
    }


def estimate_calibration(paragraphs: list[str], qwen: Any) -> dict:
    from jpagent.text.tokens import EstimateCounter

    est = EstimateCounter()
    held_out = paragraphs[1::2]  # the weights were fitted on the other half
    exact = [qwen.count(p) for p in held_out]
    guess = [est.count(p) for p in held_out]
    errors = sorted(abs(g - e) / e for g, e in zip(guess, exact, strict=True))
    return {
        "paragraphs": len(held_out),
        "total_ratio": round(sum(guess) / sum(exact), 4),
        "mean_abs_error": round(sum(errors) / len(errors), 4),
        "p95_abs_error": round(errors[int(0.95 * len(errors))], 4),
        "qwen_chars_per_token": round(sum(map(len, held_out)) / sum(exact), 3),
    }


# ------------------------------------------------------------------------------ output
COLUMNS = [
    ("system", "system"),
    ("budget", "budget"),
    ("chunks", "chunks"),
    ("mean_chars", "chars/chunk"),
    ("mean_qwen_tokens", "Qwen tok/chunk"),
    ("max_qwen_tokens", "max Qwen tok"),
    ("sentence_boundary", "ends at sentence"),
    ("answer_not_in_any_chunk", "answer in no chunk"),
    ("answer_edge_inside", "edge inside answer"),
    ("answer_sentence_in_no_chunk", "answer sentence in no chunk"),
    ("chars_per_s", "chars/s"),
]


def table(rows: list[dict]) -> str:
    def fmt(key: str, v: Any) -> str:
        if key.startswith(("sentence_", "answer_")):
            return f"{100 * v:.2f}%"
        return f"{v:,}" if isinstance(v, int) else str(v)

    head = "| " + " | ".join(h for _, h in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(fmt(k, r[k]) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in [
        "fugashi",
        "unidic-lite",
        "llama-cpp-python",
        "langchain-text-splitters",
        "llama-index-core",
        "tiktoken",
    ]:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def main(argv: list[str] | None = None) -> int:
    default = Path(os.environ.get("JPAGENT_DATA_DIR", ROOT.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=default / "jsquad" / "valid-v1.3.json")
    ap.add_argument("--budgets", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from jpagent.text.tokens import get_token_counter

    articles, paragraphs, skipped = load_articles(args.data)
    qwen = get_token_counter("llamacpp:default")
    estimate = get_token_counter("estimate")
    total_chars = sum(len(a.text) for a in articles)
    cpt = total_chars / sum(qwen.count(a.text) for a in articles)
    print(f"{len(articles)} articles, {total_chars:,} chars, {cpt:.3f} chars per Qwen token")

    rows = []
    for budget in args.budgets:
        lc_size = round(budget * cpt)
        systems = [
            ("jpagent (Qwen tokens)", jpagent_chunker(budget, qwen)),
            ("jpagent (estimate)", jpagent_chunker(budget, estimate)),
            (f"LangChain RCTS {lc_size}/200 chars", langchain_chunker(lc_size)),
            ("LlamaIndex SentenceSplitter (overlap 200)", llamaindex_chunker(budget)),
            ("no overlap: jpagent (Qwen tokens)", jpagent_chunker(budget, qwen, overlap=0)),
            (f"no overlap: LangChain RCTS {lc_size}/0", langchain_chunker(lc_size, 0)),
            ("no overlap: LlamaIndex SentenceSplitter", llamaindex_chunker(budget, 0)),
        ]
        for name, run in systems:
            rows.append(evaluate(name, budget, run, articles, qwen))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    name = "LangChain RCTS 4000/200 (literal defaults)"
    rows.append(evaluate(name, 0, langchain_chunker(4000), articles, qwen))

    ratio = analyzer_ratio(paragraphs)
    calibration = estimate_calibration(paragraphs, qwen)
    date = dt.date.today().isoformat()
    command = " ".join([".venv/bin/python", "evals/bench_chunking.py", *(argv or sys.argv[1:])])
    result = {
        "date": date,
        "command": command,
        "data": str(args.data),
        "articles": len(articles),
        "chars": total_chars,
        "answers": sum(len(a.answers) for a in articles),
        "answers_skipped": skipped,
        "qwen_chars_per_token": round(cpt, 3),
        "rows": rows,
        "analyzer": ratio,
        "estimate_calibration": calibration,
        "versions": versions(),
        "tokenizers": {
            "jpagent": "Qwen2.5 GGUF vocabulary via llama.cpp (vocab_only), or the estimate rule",
            "LangChain": "none: len() in characters; size = budget x corpus chars per Qwen token",
            "LlamaIndex": "tiktoken cl100k_base (its default), budget in its own tokens",
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"chunking-{date}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (args.out / f"chunking-{date}.md").write_text(markdown(result), encoding="utf-8")
    print()
    print(table(rows))
    print(
        f"\nanalyzer / bare fugashi (CPU): median {ratio['ratio']}x, best times "
        f"{ratio['ratio_of_best_times']}x, range {ratio['ratio_range']}"
    )
    print(f"estimate vs Qwen: {calibration}")
    print(f"wrote {args.out / f'chunking-{date}.md'} and .json")
    return 0


def markdown(r: dict) -> str:
    a, c = r["analyzer"], r["estimate_calibration"]
    lines = [
        f"# Chunking benchmark — {r['date']}",
        "",
        f"Command: `{r['command']}`",
        "",
        f"Data: JSQuAD v1.3 validation, {r['articles']} articles ({r['chars']:,} characters; "
        "title line + paragraphs joined with a blank line), "
        f"{r['answers']:,} gold answer spans (first answer per question) mapped into articles; "
        f"{r['answers_skipped']} answers that point into the `title [SEP] ` prefix (the answer "
        "is the article title) are left out.",
        "",
        "## Chunkers",
        "",
        table(r["rows"]),
        "",
        "Budgets made comparable: jpagent counts Qwen2.5 tokens exactly (the embedded model's "
        "vocabulary) or with the `estimate` rule; LangChain counts characters, so its "
        f"`chunk_size` is the budget × {r['qwen_chars_per_token']} characters per Qwen token "
        "(this corpus); LlamaIndex counts its default tiktoken `cl100k_base` tokens. "
        "Every chunk is re-measured in Qwen tokens (columns *Qwen tok*). Overlaps are each "
        "system's own: 1 sentence (jpagent), 200 characters (LangChain), 200 tokens (LlamaIndex). "
        "The 4000/200 row is LangChain's literal default (budget column 0 = not a token budget). "
        "The *no overlap* rows switch every system's overlap off, so that an answer is safe "
        "only if no boundary falls inside it.",
        "",
        "*chars/s*: characters chunked per CPU second (process time, after a warm-up "
        "article; jpagent's includes counting every piece with the chosen tokenizer). "
        "*ends at sentence*: last non-blank character is 。！？!?．. (closing brackets/quotes "
        "allowed after it) or the chunk ends at a line break / the article end. "
        "*answer in no chunk*: no chunk holds the whole gold span. "
        "*edge inside answer*: some chunk starts or ends strictly inside it. "
        "*answer sentence in no chunk*: no chunk holds the whole sentence around the answer "
        "(sentences by a neutral rule: up to 。！？!? or a line break; the same for all). "
        + "jpagent chunks that end inside an over-long sentence (cut at 、 or a morpheme): "
        + ", ".join(
            f"{x['system']} @{x['budget']}: {x['jpagent_cut_pieces']}"
            for x in r["rows"]
            if x["jpagent_cut_pieces"] is not None
        )
        + ".",
        "",
        "## Analyzer",
        "",
        f"BM25 analyzer (`jpagent.text.morph.Analyzer` defaults) over {a['paragraphs']} JSQuAD "
        f"paragraphs against a bare fugashi loop ({a['bare']}), CPU time, {a['rounds']} "
        f"interleaved rounds: **{a['ratio']}×** (median of the per-round ratios; range "
        f"{a['ratio_range'][0]}–{a['ratio_range'][1]}×; best times {a['analyzer_s']} s vs "
        f"{a['bare_fugashi_s']} s = {a['ratio_of_best_times']}×), "
        f"{a['analyzer_chars_per_s']:,} chars/s, with one analyzer reused (MeCab lines already "
        "mapped to terms, the steady state of a long ingest). A new analyzer per round (a first "
        f"pass over the paragraphs): {a.get('cold_ratio', '–')}×. Terms identical to the "
        f"analyzer's full-MeCab-line path: {a.get('same_terms_as_full_lines', '–')}. Load "
        f"average (1 min) at start and end: {a.get('load_avg_1min', '–')} on 2 cores.",
        "",
        "## Estimate counter calibration",
        "",
        f"`estimate` against Qwen2.5 on the {c['paragraphs']} held-out JSQuAD paragraphs: "
        f"total {c['total_ratio']}× Qwen's count, mean absolute error "
        f"{100 * c['mean_abs_error']:.1f}% per paragraph, 95th percentile "
        f"{100 * c['p95_abs_error']:.1f}%; Qwen reads {c['qwen_chars_per_token']} characters "
        "per token on this text.",
        "",
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
