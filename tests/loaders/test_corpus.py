"""The sample corpus: every file loads, every fact in corpora/README.md is where it says,
and corpora/make_corpus.py regenerates the committed files."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from jpagent.loaders import load, load_many

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
SAMPLE = CORPORA / "sample"


def readme_facts() -> list[tuple[str, str, str, str, int | None]]:
    """(question, answer, file, evidence, page) rows of the README's fact table."""
    rows = []
    for line in (CORPORA / "README.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or "`" not in line or "？" not in line:
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        question, answer, file, evidence, page = cells
        rows.append((question, answer, file.strip("`"), evidence, int(page) if page else None))
    return rows


FACTS = readme_facts()


def test_readme_has_facts_for_every_file() -> None:
    assert len(FACTS) >= 10
    files = {path.name for path in SAMPLE.iterdir()}
    assert {fact[2] for fact in FACTS} == files


@pytest.mark.parametrize(
    ("question", "answer", "file", "evidence", "page"),
    FACTS,
    ids=[f"{fact[2]}-{n}" for n, fact in enumerate(FACTS)],
)
def test_fact(question: str, answer: str, file: str, evidence: str, page: int | None) -> None:
    [doc] = load(SAMPLE / file)
    assert evidence in doc.text, question
    if page is not None:
        at = doc.text.index(evidence)
        spans = doc.metadata["page_spans"]
        assert next(p for p, start, end in spans if start <= at < end) == page


def test_whole_corpus_loads_without_skips() -> None:
    report = load_many(SAMPLE)
    assert report.skipped == []
    assert sorted(doc.metadata["format"] for doc in report.documents) == [
        "csv", "docx", "html", "md", "md", "pdf", "txt", "txt", "txt",
    ]  # fmt: skip
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) < 1_000_000


def test_make_corpus_reproduces_the_committed_files(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPORA / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for made in module.main(tmp_path):
        committed = SAMPLE / made.name
        if made.suffix in {".pdf", ".docx"}:
            # bytes depend on the reportlab/python-docx version; the content must not
            [a], [b] = load(made), load(committed)
            assert (a.text, a.metadata) == (b.text, b.metadata)
        else:
            assert made.read_bytes() == committed.read_bytes(), made.name
