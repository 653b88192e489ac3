"""``ask`` quality on the sample corpus: the citation pipeline on the corpus's fact questions.

The fact table of ``corpora/README.md`` (質問 → 答え, the file that holds it) is asked through
the pipeline ``jpagent ask`` runs: the corpus ingested into a fresh knowledge base (real loaders,
chunker, Chroma, BM25, embedder), hybrid retrieval, :func:`jpagent.rag.answer.answer` with the
configured chat model. Several RAG settings (``k``, ``min_relative_score``, ``stop_loops``) are
compared on the same questions, interleaved question by question. Per setting:

* ``char-F1``: the answer (citation markers removed) against the gold answer, as the QA eval;
* ``gold in answer``: the normalised gold answer appears whole in the normalised answer;
* ``gold file cited``: a citation points at the file that holds the fact;
* ``no answer``: the reply is 資料からは分かりません;
* ``loops``: answers in which the model fell into a runaway loop;
* ``TTFT``: mean seconds to the first token, the whole prompt processed each time (an
  in-process llama.cpp model forgets the previous prompt first, which the next setting's prompt
  would otherwise partly reuse).

Run: ``python -m jpagent.evals.ask`` (``make eval-ask``); results go to
``evals/results/ask-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jpagent.errors import ConfigError
from jpagent.evals.qa import char_f1, normalize_answer
from jpagent.evals.results import write_results
from jpagent.rag.answer import RagConfig
from jpagent.rag.citations import NO_ANSWER

__all__ = ["AskItem", "AskReport", "Fact", "read_facts", "run_ask_eval", "write_report"]

log = logging.getLogger(__name__)

#: name → RAG setting compared (``c``: ``min_relative_score``; loops are stopped unless named).
SETTINGS: dict[str, RagConfig] = {
    "k=6": RagConfig(k=6),
    "k=6, loops run": RagConfig(k=6, stop_loops=False),
    "k=6, c=0.85": RagConfig(k=6, min_relative_score=0.85),
    "k=3": RagConfig(k=3),
    "k=2": RagConfig(k=2),
    "k=1": RagConfig(k=1),
}
_MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Fact:
    """A question of the fact table, its answer and the file that holds it."""

    question: str
    answer: str
    file: str


@dataclass(frozen=True)
class AskItem:
    setting: str
    question: str
    gold: str
    gold_file: str
    answer: str
    cited: tuple[str, ...]
    f1: float
    gold_in_answer: bool
    gold_file_cited: bool
    no_answer: bool
    looped: bool
    ttft: float
    total: float


@dataclass(frozen=True)
class AskReport:
    corpus: str
    model: str
    settings: dict[str, RagConfig]
    items: tuple[AskItem, ...]
    setup_seconds: dict[str, float]
    command: str = ""
    date: str = ""

    def scores(self) -> dict[str, dict[str, float]]:
        """Per setting: n and the mean of each metric."""
        out: dict[str, dict[str, float]] = {}
        for name in self.settings:
            rows = [i for i in self.items if i.setting == name]
            n = len(rows) or 1
            out[name] = {
                "n": len(rows),
                "f1": sum(i.f1 for i in rows) / n,
                "gold_in_answer": sum(i.gold_in_answer for i in rows) / n,
                "gold_file_cited": sum(i.gold_file_cited for i in rows) / n,
                "no_answer": sum(i.no_answer for i in rows) / n,
                "looped": sum(i.looped for i in rows),
                "ttft": sum(i.ttft for i in rows) / n,
                "total": sum(i.total for i in rows) / n,
            }
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "eval": "ask",
            "corpus": self.corpus,
            "model": self.model,
            "settings": {k: _setting_json(v) for k, v in self.settings.items()},
            "scores": self.scores(),
            "setup_seconds": self.setup_seconds,
            "command": self.command,
            "date": self.date,
            "items": [asdict(i) for i in self.items],
        }

    def to_markdown(self) -> str:
        scores = self.scores()
        n = max((int(s["n"]) for s in scores.values()), default=0)
        lines = [
            f"# `ask` on the sample corpus ({self.date})",
            "",
            f"Command: `{self.command}`",
            "",
            f"{n} fact questions of `corpora/README.md` asked through the `jpagent ask` pipeline "
            f"(fresh knowledge base of `{self.corpus}`, hybrid retrieval, model `{self.model}`, "
            "greedy), settings interleaved question by question, each prompt processed whole "
            "(no prefix reuse between settings). `c`: `min_relative_score`. `loops`: answers "
            "in which the model fell into a runaway loop (stopped at once unless the setting "
            "says the loops run). Time: mean seconds per answer, to the first token and in all.",
            "",
            "| setting | char-F1 | gold in answer | gold file cited | no answer | loops "
            "| TTFT s | total s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, s in scores.items():
            lines.append(
                f"| {name} | {s['f1']:.3f} | {s['gold_in_answer']:.0%} "
                f"| {s['gold_file_cited']:.0%} | {s['no_answer']:.0%} | {s['looped']:.0f} "
                f"| {s['ttft']:.1f} | {s['total']:.1f} |"
            )
        setup = ", ".join(f"{k} {v:g}" for k, v in self.setup_seconds.items())
        lines += ["", f"Setup: {setup}.", "", "## Answers", ""]
        lines += [
            "| setting | question | gold | answer | F1 | cited |",
            "|---|---|---|---|---|---|",
        ]
        for i in self.items:
            answer = i.answer.replace("\n", " ").replace("|", "\\|")
            cited = ", ".join(i.cited) or "–"
            lines.append(
                f"| {i.setting} | {i.question} | {i.gold} | {answer} | {i.f1:.2f} | {cited} |"
            )
        return "\n".join(lines) + "\n"


def read_facts(readme: str | Path) -> list[Fact]:
    """The rows of the fact table (``| 質問 | 答え | `file` | ... |``) of a corpus README."""
    path = Path(readme)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(
            f"Cannot read the fact table {path}: {e.strerror or e}",
            f"質問表 {path} を読めません。",
            hint="Pass --facts with the corpus README that holds the 質問 → 答え table.",
        ) from e
    facts = []
    for line in text.splitlines():
        if not line.startswith("| ") or "`" not in line or "？" not in line:
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) >= 3:
            facts.append(Fact(cells[0], cells[1], cells[2].strip("`")))
    if not facts:
        raise ConfigError(
            f"No 質問 → 答え rows in {path}.",
            f"{path} に質問表の行がありません。",
            hint="Rows look like: | 始業時刻は何時ですか？ | 午前9時00分 | `work_rules.md` | … |",
        )
    return facts


def run_ask_eval(
    corpus: str | Path,
    facts: Sequence[Fact],
    *,
    settings: dict[str, RagConfig] = SETTINGS,
    kb_dir: str | Path | None = None,
    config: Any = None,
    command: str = "",
) -> AskReport:
    """Ingest ``corpus`` into a fresh knowledge base and ask every fact in every setting.

    ``kb_dir`` keeps the knowledge base there (default: a temporary folder, removed after);
    ``config`` is a :class:`jpagent.config.Config` (default: the effective one).
    """
    from jpagent.rag.answer import answer
    from jpagent.sdk import open as open_kb

    setup: dict[str, float] = {"load_avg_1min_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="jpagent-ask-eval-") as tmp:
        folder = Path(kb_dir) if kb_dir is not None else Path(tmp) / "kb"
        with open_kb(folder, config=config, create=True) as kb:
            t0 = time.perf_counter()
            kb.ingest([Path(corpus)], sync=True, progress=False)
            setup["ingest"] = round(time.perf_counter() - t0, 1)
            retriever, model = kb.retriever("hybrid"), kb.chat_model
            items: list[AskItem] = []
            loaded = getattr(model, "_loaded", None)  # llamacpp: the in-process model
            for fact in facts:
                for name, rag in settings.items():
                    if loaded is not None:  # no reuse of the previous prompt's prefix: each
                        loaded.llm.reset()  # TTFT includes its whole prompt
                    result = answer(fact.question, retriever, model, config=rag)
                    items.append(_item(name, fact, result))
                    log.info("%s | %s → %r", name, fact.question, result.text)
            model_name = getattr(model, "name", "")
    setup["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    return AskReport(
        corpus=str(corpus),
        model=model_name,
        settings=dict(settings),
        items=tuple(items),
        setup_seconds=setup,
        command=command,
        date=dt.date.today().isoformat(),
    )


def _item(setting: str, fact: Fact, result: Any) -> AskItem:
    text = _MARKER.sub("", result.text).strip()
    cited = tuple(dict.fromkeys(Path(c.source).name for c in result.citations))
    return AskItem(
        setting=setting,
        question=fact.question,
        gold=fact.answer,
        gold_file=fact.file,
        answer=result.text,
        cited=cited,
        f1=char_f1(text, (fact.answer,)),
        gold_in_answer=normalize_answer(fact.answer) in normalize_answer(text),
        gold_file_cited=fact.file in cited,
        no_answer=NO_ANSWER in result.text,
        looped=result.looped,
        ttft=float(result.timings.get("ttft", 0.0)),
        total=float(result.timings.get("total", 0.0)),
    )


def _setting_json(rag: RagConfig) -> dict[str, Any]:
    return {"k": rag.k, "min_relative_score": rag.min_relative_score, "stop_loops": rag.stop_loops}


def write_report(report: AskReport, out_dir: str | Path = "evals/results") -> tuple[Path, Path]:
    """Write ``<out_dir>/ask-<date>.md`` and ``.json``; return both paths."""
    return write_results(out_dir, f"ask-{report.date}", report.to_markdown(), report.to_json())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jpagent.evals.ask``: run the eval and write ``ask-<date>.{md,json}``."""
    import argparse
    import shlex
    import sys

    parser = argparse.ArgumentParser(prog="python -m jpagent.evals.ask", description=__doc__)
    parser.add_argument("--corpus", default="corpora/sample")
    parser.add_argument("--facts", default="corpora/README.md", help="README with the table")
    parser.add_argument("--limit", type=int, default=0, help="first N facts only (0: all)")
    parser.add_argument(
        "--setting",
        action="append",
        choices=list(SETTINGS),
        help="compare only these settings (repeatable; default: all)",
    )
    parser.add_argument("--out", default="evals/results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    facts = read_facts(args.facts)
    if args.limit:
        facts = facts[: args.limit]
    words = ["python", "-m", "jpagent.evals.ask", *(sys.argv[1:] if argv is None else argv)]
    chosen = {name: SETTINGS[name] for name in args.setting} if args.setting else SETTINGS
    report = run_ask_eval(args.corpus, facts, settings=chosen, command=shlex.join(words))
    md, js = write_report(report, args.out)
    print(report.to_markdown())
    print(f"wrote {md} and {js}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
