"""``bm25/``: the Japanese keyword index, a bm25s index over the analyzer's terms.

bm25s indexes are immutable, so each change to the knowledge base rebuilds the index from the
terms stored in ``docs.sqlite`` (no MeCab run) into a new folder ``bm25/gen-<N>-<rand>/``,
then points ``bm25/CURRENT`` at it with an atomic ``os.replace``. A crash before the swap leaves
the old index in use and an orphan folder that the next build removes; readers never see a
half-written index. Each folder holds the bm25s files, ``ids.json`` (chunk ids in index order)
and ``meta.json`` (``generation``: the ``docs.sqlite`` generation it was built from, and the
BM25 parameters).

The BM25 parameters (:class:`BM25Params`) default to ``k1=0.3, b=0.75``, tuned on the JSQuAD
validation split (``jpagent/retrieve/README.md``): Japanese chunks are short and a term's
presence says more than its count, so bm25s's ``k1=1.5`` loses ~0.01 nDCG@10. The knowledge
base records them in its manifest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

POINTER = "CURRENT"


@dataclass(frozen=True)
class BM25Params:
    """Okapi BM25 parameters (bm25s ``method="lucene"``); defaults tuned on JSQuAD."""

    k1: float = 0.3
    """Term-frequency saturation: lower values reward a term's presence over its repeats."""
    b: float = 0.75
    """Length normalisation: 0 none, 1 full."""


class KeywordIndex(NamedTuple):
    """A loaded BM25 index: the bm25s model (``None`` when empty) and its chunk ids."""

    model: object | None
    ids: list[str]
    generation: int
    position: dict[str, int]

    def query(
        self, terms: Sequence[str], k: int, allowed_ids: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top ``k`` chunks for ``terms`` as ``(chunk_id, bm25 score)``, best first.

        Only chunks with a positive score are returned; ``allowed_ids`` restricts the
        candidates (a filter computed by the caller).
        """
        model = self.model
        if model is None or k <= 0 or not terms:
            return []
        vocab = model.vocab_dict  # type: ignore[attr-defined]
        token_ids = [vocab[t] for t in terms if t in vocab and t != ""]
        if not token_ids:
            return []
        mask = None
        if allowed_ids is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            rows = [self.position[i] for i in allowed_ids if i in self.position]
            if not rows:
                return []
            mask[rows] = 1.0
        scores = model.get_scores_from_ids(token_ids, weight_mask=mask)  # type: ignore[attr-defined]
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


EMPTY = KeywordIndex(None, [], -1, {})


def current_dir(root: Path) -> Path | None:
    """The folder ``CURRENT`` points at, or None if there is none (or it is missing)."""
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = root / name
    return folder if name and folder.is_dir() else None


def stored_generation(root: Path) -> int | None:
    """The generation of the current index, or None if there is no usable index."""
    meta = _current_meta(root)
    try:
        return int(meta["generation"]) if meta is not None else None
    except (ValueError, KeyError, TypeError):
        return None


def stored_params(root: Path) -> BM25Params | None:
    """The BM25 parameters the current index was built with (None: no index, or built before
    they were recorded, i.e. with bm25s's defaults)."""
    meta = _current_meta(root)
    if meta is None or "k1" not in meta:
        return None
    return BM25Params(k1=float(meta["k1"]), b=float(meta["b"]))


def _current_meta(root: Path) -> dict | None:
    folder = current_dir(root)
    if folder is None:
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def load(root: Path) -> KeywordIndex:
    """Load the current index (memory-mapped); ``EMPTY`` if there is none."""
    folder = current_dir(root)
    if folder is None:
        return EMPTY
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
    generation = int(meta["generation"])
    if not ids:
        return KeywordIndex(None, [], generation, {})
    import bm25s

    model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
    return KeywordIndex(model, ids, generation, {cid: n for n, cid in enumerate(ids)})


def build(
    root: Path,
    ids: Sequence[str],
    terms: Sequence[Sequence[str]],
    generation: int,
    before_swap: object = None,
    params: BM25Params = BM25Params(),
) -> Path:
    """Build an index of ``terms`` (one list per chunk id), write it and make it current.

    ``before_swap`` is an optional callable run after the new folder is complete and before
    ``CURRENT`` is switched (the ingest progress hook). Returns the new folder.
    """
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    if ids:
        import bm25s

        model = bm25s.BM25(k1=params.k1, b=params.b)
        # An empty term list would make bm25s fail; such chunks keep a row that never matches.
        model.index([list(t) for t in terms], show_progress=False)
        model.save(str(tmp), show_progress=False)
    _write_json(tmp / "ids.json", list(ids))
    meta = {"generation": generation, "chunks": len(ids), "k1": params.k1, "b": params.b}
    _write_json(tmp / "meta.json", meta)
    final = root / f"gen-{generation:08d}-{uuid.uuid4().hex[:6]}"
    os.replace(tmp, final)
    _fsync_dir(root)
    if callable(before_swap):
        before_swap()
    pointer_tmp = root / f"{POINTER}.tmp"
    with open(pointer_tmp, "w", encoding="utf-8") as fh:
        fh.write(final.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / POINTER)
    _fsync_dir(root)
    _remove_others(root, keep=final.name)
    return final


def _remove_others(root: Path, keep: str) -> None:
    """Delete every index folder but ``keep`` (old generations, orphans of crashed builds)."""
    for entry in root.iterdir():
        if entry.is_dir() and entry.name != keep and entry.name.startswith(("gen-", "tmp-")):
            shutil.rmtree(entry, ignore_errors=True)


def _write_json(path: Path, value: object) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(value, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
