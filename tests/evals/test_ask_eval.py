"""The ask eval: fact table parsing, and one real run (embedded embedder and chat model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpagent.errors import ConfigError
from jpagent.evals.ask import Fact, read_facts, run_ask_eval, write_report
from jpagent.rag.answer import RagConfig

ROOT = Path(__file__).resolve().parents[2]

README = """# 社内文書

| 質問 | 答え | file | 根拠 |
|---|---|---|---|
| 始業時刻は何時ですか？ | 午前9時00分 | `rules.md` | 始業時刻は午前9時00分 |
| 内線番号と受付時間は？ | 内線 2100、平日 9:00〜17:30 | `faq.md` | 内線 2100 \\| 平日 9:00〜17:30 |
"""


def test_read_facts_of_the_sample_corpus() -> None:
    facts = read_facts(ROOT / "corpora" / "README.md")
    assert len(facts) >= 19
    assert facts[0] == Fact("始業時刻は何時ですか？", "午前9時00分", "work_rules.md")
    files = {p.name for p in (ROOT / "corpora" / "sample").iterdir()}
    assert {f.file for f in facts} <= files


def test_read_facts_unescapes_pipes(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(README, encoding="utf-8")
    facts = read_facts(tmp_path / "README.md")
    assert [f.file for f in facts] == ["rules.md", "faq.md"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "Cannot read the fact table"), ("# 見出しだけ\n", "No 質問 → 答え rows")],
)
def test_read_facts_errors_name_the_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "README.md"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        read_facts(path)
    assert str(path) in str(err.value)


@pytest.mark.slow
def test_run_on_a_two_file_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "rules.md").write_text(
        "# 就業規則\n\n## 第7条（始業・終業時刻）\n\n始業時刻は午前9時00分、終業時刻は午後6時00分とする。\n",
        encoding="utf-8",
    )
    (corpus / "faq.md").write_text(
        "# ITヘルプデスク\n\n## 連絡先\n\nITヘルプデスクは内線 2100、受付時間は平日 9:00〜17:30 です。\n",
        encoding="utf-8",
    )
    facts = [Fact("始業時刻は何時ですか？", "午前9時00分", "rules.md")]
    settings = {"k=1": RagConfig(k=1), "k=2": RagConfig(k=2, stop_loops=False)}
    report = run_ask_eval(corpus, facts, settings=settings)
    assert [i.setting for i in report.items] == ["k=1", "k=2"]
    one = report.items[0]
    assert one.gold_in_answer and one.f1 > 0.5 and not one.no_answer
    assert one.gold_file_cited and one.cited == ("rules.md",)
    assert report.scores()["k=1"]["n"] == 1
    md, js = write_report(report, tmp_path / "out")
    assert "| k=1 |" in md.read_text(encoding="utf-8")
    written = json.loads(js.read_text(encoding="utf-8"))
    assert written["items"][0]["gold"] == "午前9時00分" and not written["items"][0]["looped"]
    assert written["settings"]["k=2"] == {"k": 2, "min_relative_score": 0.0, "stop_loops": False}
