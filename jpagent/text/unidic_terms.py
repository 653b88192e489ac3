"""The few UniDic entries whose BM25 term cannot be read off MeCab's short output line.

The analyzer's fast path asks MeCab for ``left-id \\t surface`` per morpheme (no feature CSV to
parse, which is most of MeCab's output cost) and derives the term, the dictionary form
``orthBase``, from that line:

* for words that do not conjugate (UniDic ``cType`` ``*``: nouns, adverbs, ...) ``orthBase`` is
  the surface, except for 840 entries of unidic-lite such as rendaku forms (``ボタル`` →
  ``ホタル``);
* for conjugating words it is looked up in ``sys.dic`` per ``(left-id, surface)`` the first
  time it is seen (:class:`SysDic`: the left id fixes the conjugation type and form), or, with a
  user dictionary, learned the first time MeCab is asked for it with the full feature;
* 79 ``(left-id, surface)`` pairs have dictionary entries with different ``orthBase``
  (``じゃれ`` → ``じゃれる`` / ``しゃれる``); text containing them always takes the full path.

This module finds those exceptions by reading the compiled ``sys.dic`` (header, Darts double
array, token table, feature strings) and writes them to ``unidic_lite_terms.txt`` beside it,
shipped with the package for the pinned unidic-lite. The analyzer uses the table only when the
installed dictionary is the one it was built from (same version and ``sys.dic`` size); for any
other dictionary it takes the full path, which is always exact. ``tests/text/test_morph.py``
rebuilds the table from the installed dictionary and compares.

Regenerate: ``python -m jpagent.text.unidic_terms``.
"""

from __future__ import annotations

import csv
import mmap
import struct
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jpagent.text.userdict import unidic_dir

__all__ = [
    "SysDic",
    "TermTable",
    "build_term_table",
    "conjugating_left_ids",
    "load_term_table",
    "sys_dic",
]

TABLE_PATH = Path(__file__).with_name("unidic_lite_terms.txt")


@dataclass(frozen=True)
class TermTable:
    """Exceptions to "term = surface" (non-conjugating) and "one term per key" (all)."""

    dictionary: str
    """``<version> sys.dic <size>`` of the dictionary the table was built from."""
    fixed: dict[str, str]
    """``"left-id\\tsurface"`` → ``orthBase`` for non-conjugating entries where they differ."""
    ambiguous: frozenset[str]
    """``"left-id\\tsurface"`` keys with more than one ``orthBase`` in the dictionary."""


def dictionary_signature(dicdir: str | None = None) -> str:
    d = Path(dicdir or unidic_dir())
    version = (d / "version").read_text(encoding="utf-8").strip()
    return f"{version} sys.dic {(d / 'sys.dic').stat().st_size}"


@lru_cache(maxsize=4)
def conjugating_left_ids(dicdir: str) -> frozenset[int]:
    """Left context ids whose ``cType`` (5th field of ``left-id.def``) is not ``*``."""
    out = set()
    with open(Path(dicdir) / "left-id.def", encoding="utf-8") as f:
        for line in f:
            num, _, feature = line.rstrip("\n").partition(" ")
            fields = feature.split(",")
            if len(fields) > 4 and fields[4] != "*":
                out.add(int(num))
    return frozenset(out)


def _entries(raw: bytes, dsize: int) -> list[tuple[str, int, int]]:
    """``(surface, first token, token count)`` for every key of a ``sys.dic``'s trie (the
    double array: ``dsize`` bytes after the 72-byte header)."""
    import numpy as np

    unit = np.dtype([("base", "<i4"), ("check", "<u4")])
    da = np.frombuffer(raw, dtype=unit, count=dsize // 8, offset=72)
    base = da["base"].astype(np.int64)
    check = da["check"].astype(np.int64)
    n = len(base)
    # Darts (MeCab's double array): the child of the node with base b for byte c sits at
    # p = b + c + 1 with check[p] == b; the node's value sits at p = b with base[p] < 0.
    # Walk the trie level by level, all nodes of a level at once.
    keys: list[bytes] = [b""]
    frontier_base = np.array([base[0]], dtype=np.int64)
    frontier_key = np.array([0], dtype=np.int64)
    out: list[tuple[str, int, int]] = []
    offsets = np.arange(2, 257, dtype=np.int64)
    while len(frontier_base):
        b = frontier_base
        inside = (b >= 0) & (b < n)
        term = np.zeros(len(b), dtype=bool)
        term[inside] = (check[b[inside]] == b[inside]) & (base[b[inside]] < 0)
        for i in np.nonzero(term)[0]:
            v = -int(base[b[i]]) - 1
            out.append((keys[frontier_key[i]].decode("utf-8"), v >> 8, v & 0xFF))
        next_base, next_key = [], []
        for lo in range(0, len(b), 20000):
            bb = b[lo : lo + 20000]
            p = bb[:, None] + offsets[None, :]
            ok = p < n
            hit = np.zeros(p.shape, dtype=bool)
            hit[ok] = check[p[ok]] == np.broadcast_to(bb[:, None], p.shape)[ok]
            rows, cols = np.nonzero(hit)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                keys.append(keys[frontier_key[lo + r]] + bytes([c + 1]))
                next_key.append(len(keys) - 1)
            next_base.append(base[p[rows, cols]])
        frontier_base = np.concatenate(next_base) if next_base else np.array([], dtype=np.int64)
        frontier_key = np.array(next_key, dtype=np.int64)
    return out


# sys.dic layout: a 72-byte header (10 uint32 sizes, then the 32-byte charset name), the Darts
# double array (dsize bytes of (int32 base, uint32 check) units), the token table (tsize bytes
# of 16-byte tokens) and the NUL-terminated feature strings (fsize bytes).
_HEADER = struct.Struct("<10I")
_UNIT = struct.Struct("<iI")
_TOKEN = struct.Struct("<HHHhII")  # left id, right id, POS id, word cost, feature offset, compound


def _sections(raw: bytes | mmap.mmap) -> tuple[int, int, int]:
    """``(dsize, tokens offset, features offset)`` of a ``sys.dic``."""
    header = _HEADER.unpack_from(raw, 0)
    dsize, tsize = header[6], header[7]
    return dsize, 72 + dsize, 72 + dsize + tsize


def _orth_base(feature: str) -> str:
    fields = next(csv.reader([feature])) if '"' in feature else feature.split(",")
    return fields[10] if len(fields) > 10 else ""


class SysDic:
    """Exact-match lookups in a compiled ``sys.dic``, memory-mapped (shared with MeCab's pages).

    About 10-20 µs per lookup in Python; the analyzer looks up each conjugated form once.
    """

    def __init__(self, dicdir: str) -> None:
        with open(Path(dicdir) / "sys.dic", "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        dsize, self._tokens_at, self._features_at = _sections(self._map)
        self._units = dsize // 8
        self._root = _UNIT.unpack_from(self._map, 72)[0]

    def base_form(self, surface: str, left_id: int) -> str | None:
        """The one ``orthBase`` of the entries ``surface`` with ``left_id``; None if there is
        no such entry or they disagree (MeCab's choice between them needs the full feature)."""
        m, unit, units, b = self._map, _UNIT, self._units, self._root
        for c in surface.encode("utf-8"):  # Darts exact match: the child of b for byte c
            p = b + c + 1
            if p >= units:
                return None
            base, check = unit.unpack_from(m, 72 + 8 * p)
            if check != b or base < 0:  # no such child (a negative base holds a value)
                return None
            b = base
        if b >= units:
            return None
        value, check = unit.unpack_from(m, 72 + 8 * b)
        if check != b or value >= 0:
            return None
        value = -value - 1
        first, count = value >> 8, value & 0xFF
        bases = set()
        for t in range(first, first + count):
            lc, _rc, _pos, _cost, feature_at, _compound = _TOKEN.unpack_from(
                m, self._tokens_at + 16 * t
            )
            if lc == left_id:
                at = self._features_at + feature_at
                bases.add(_orth_base(m[at : m.find(b"\0", at)].decode("utf-8")))
        return bases.pop() if len(bases) == 1 else None


@lru_cache(maxsize=4)
def sys_dic(dicdir: str) -> SysDic | None:
    """The process's :class:`SysDic` for ``dicdir`` (None if it cannot be mapped)."""
    try:
        return SysDic(dicdir)
    except (OSError, ValueError, struct.error):
        return None


def build_term_table(dicdir: str | None = None) -> TermTable:
    """Read the compiled dictionary and collect the exceptions (about 20 s for unidic-lite)."""
    d = Path(dicdir or unidic_dir())
    raw = (d / "sys.dic").read_bytes()
    dsize, tokens_at, features_at = _sections(raw)
    features = raw[features_at:]
    conj = conjugating_left_ids(str(d))
    seen: dict[str, set[str]] = defaultdict(set)
    plain: set[str] = set()  # non-conjugating keys with an entry whose orthBase is the surface
    for surface, first, count in _entries(raw, dsize):
        for t in range(first, first + count):
            lc, _rc, _pos, _cost, feature_at, _compound = _TOKEN.unpack_from(
                raw, tokens_at + 16 * t
            )
            end = features.index(b"\0", feature_at)
            orth_base = _orth_base(features[feature_at:end].decode("utf-8"))
            if lc in conj or orth_base != surface:
                seen[f"{lc}\t{surface}"].add(orth_base)
            else:
                plain.add(f"{lc}\t{surface}")
    fixed: dict[str, str] = {}
    ambiguous: set[str] = set()
    for key, bases in seen.items():
        if len(bases) > 1 or key in plain:
            ambiguous.add(key)
        elif int(key.split("\t", 1)[0]) not in conj:
            fixed[key] = next(iter(bases))
    return TermTable(dictionary_signature(str(d)), fixed, frozenset(ambiguous))


def write_term_table(table: TermTable, path: Path = TABLE_PATH) -> None:
    lines = [f"# {table.dictionary}"]
    lines += [f"{k}\t{v}" for k, v in sorted(table.fixed.items())]
    lines += [f"{k}\t" for k in sorted(table.ambiguous)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def load_term_table(path: Path = TABLE_PATH) -> TermTable:
    """The shipped table (an empty one with no signature if the file is missing)."""
    if not path.exists():
        return TermTable("", {}, frozenset())
    fixed: dict[str, str] = {}
    ambiguous: set[str] = set()
    lines = path.read_text(encoding="utf-8").split("\n")
    signature = lines[0].removeprefix("# ")
    for line in lines[1:]:
        if not line:
            continue
        lc, surface, base = line.split("\t")
        if base:
            fixed[f"{lc}\t{surface}"] = base
        else:
            ambiguous.add(f"{lc}\t{surface}")
    return TermTable(signature, fixed, frozenset(ambiguous))


if __name__ == "__main__":
    t = build_term_table()
    write_term_table(t)
    print(f"{TABLE_PATH}: {len(t.fixed)} fixed, {len(t.ambiguous)} ambiguous ({t.dictionary})")
