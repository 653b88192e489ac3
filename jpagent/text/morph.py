"""Japanese morphology with MeCab (fugashi + unidic-lite) and the BM25 search analyzer.

* :func:`tokenize` gives morphemes with surface, base form, reading, POS and character offsets
  into the text it was given. The base form is UniDic's ``orthBase`` (``行っ`` → ``行く``), not
  ``lemma``, which is katakana for proper nouns (東京 → トウキョウ); when ``orthBase`` is ``*`` or
  missing (unknown words) the surface is used.
* :class:`Analyzer` turns text into BM25 terms: content words only (particles 助詞, auxiliaries
  助動詞, symbols 補助記号/記号 and whitespace 空白 dropped), width-folded (NFKC) and lower-cased,
  with ASCII words, numbers and code identifiers kept whole (``get_user_id``, ``v2.3.1``,
  ``ISO-2022-JP``, ``HTTP404``): they are cut out before MeCab sees the text, because MeCab
  would split them at every character-class change.
* A user dictionary (CSV of ``surface,reading,pos``, see :mod:`jpagent.text.userdict`) is compiled
  into a MeCab ``.dic`` and keeps company terms such as ``スマート勤怠Pro`` as one morpheme; the
  analyzer also protects the listed terms from the ASCII cut.

One fugashi tagger per thread, per user dictionary and per output line format, created on
first use and reused.

Speed: the analyzer asks MeCab for one short line per morpheme (left context id and surface,
no feature CSV) instead of building a Python object per morpheme, and maps each line to its term
through a dictionary of the lines seen so far (``"" `` for a dropped morpheme), with C-level
``str.split``, ``map`` and ``filter``: Python code runs only for a line not seen before. The
term (``orthBase``) of a non-conjugating word is its surface except for a shipped table of
exceptions; a conjugated form's term is looked up once in unidic-lite's ``sys.dic`` (with a user
dictionary: learned the first time the text is analysed with full lines). A few keys with two
dictionary forms (じゃれ: じゃれる / しゃれる) always take full lines. See
:mod:`jpagent.text.unidic_terms`. The output is the same either way (tested);
``evals/bench_chunking.py`` measures the speed against a bare fugashi loop.
"""

from __future__ import annotations

import csv
import re
import shlex
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, count, repeat
from operator import is_
from pathlib import Path
from typing import Any, NamedTuple

from jpagent.errors import ConfigError
from jpagent.text.unidic_terms import (
    SysDic,
    TermTable,
    conjugating_left_ids,
    dictionary_signature,
    load_term_table,
    sys_dic,
)
from jpagent.text.userdict import compile_user_dict, mecab_rows, read_user_dict, unidic_dir

__all__ = ["DEFAULT_DROP_POS", "Analyzer", "AnalyzerConfig", "Token", "token_spans", "tokenize"]

DEFAULT_DROP_POS = ("助詞", "助動詞", "補助記号", "記号", "空白")
ANALYZER_VERSION = 1

# MeCab output for the analyzer, one line per morpheme. The key is the left context id (%phl)
# for dictionary words (its first POS level and conjugation type are known from left-id.def)
# and the first POS level for unknown words. The short line ("key \t surface") needs no feature
# CSV, which is most of MeCab's output cost; the full line adds the term, orthBase (unknown
# words: the surface). See jpagent.text.unidic_terms for how terms come from short lines.
_SHORT_FORMAT = (r"%phl\t%m\n", r"%f[0]\t%m\n")
_FULL_FORMAT = (r"%phl\t%m\t%f[10]\n", r"%f[0]\t%m\t%m\n")
_LEARNED_MAX = 200_000  # conjugated forms remembered per analyzer (cleared when full)
_LINES_MAX = 200_000  # short lines → terms per analyzer (about 190 bytes each; cleared when full)
_MISS_RATE_WEIGHT = 0.05  # of the latest text in the moving average of misses
_MISS_RATE_FOR_SHORT = 0.2  # short lines first while fewer texts than this miss
# Stands in for a protected term (ASCII identifier or user term) in the text sent to MeCab.
# U+FDD0 is a Unicode noncharacter, never found in interchanged text (it is removed first).
_PLACEHOLDER = "\ufdd0"
_PADDED_PLACEHOLDER = f" {_PLACEHOLDER} "
_ASCII_WORD = r"[A-Za-z0-9_]+(?:[.\-@][A-Za-z0-9_]+)*(?:\+\+|#(?![A-Za-z0-9_]))?"
# NFKC of the Halfwidth and Fullwidth Forms block and the ideographic space (ＡＢＣ, （）, ｶﾅ).
_FULL_WIDTH_NFKC = {
    cp: unicodedata.normalize("NFKC", chr(cp))
    for cp in (0x3000, *range(0xFF00, 0xFFF0))
    if unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
}
_TOKENIZE_WINDOW = 8192  # characters per MeCab call on long texts (MeCab fails on huge ones)

_local = threading.local()


class Token(NamedTuple):
    """A morpheme: ``surface == text[start:end]``; ``pos`` like ``名詞-固有名詞-地名-一般``."""

    surface: str
    base: str
    reading: str
    pos: str
    start: int
    end: int


def _tagger(dic: str | None, full: bool = True) -> Any:
    """This thread's fugashi tagger for the compiled user dictionary ``dic`` (or none).

    ``full`` picks the analyzer's output line format (full or short); :func:`tokenize` reads
    nodes, which do not depend on it, and shares the default tagger.
    """
    cache = getattr(_local, "taggers", None)
    if cache is None:
        cache = _local.taggers = {}
    key = (dic, full)
    tagger = cache.get(key)
    if tagger is None:
        tagger = cache[key] = _new_tagger(dic, full)
    return tagger


def _new_tagger(dic: str | None, full: bool) -> Any:
    try:
        import fugashi
    except ImportError as e:
        raise ConfigError(
            "fugashi (MeCab for Python) is not installed.",
            "fugashi（MeCab の Python 版）がインストールされていません。",
            hint="pip install fugashi 'unidic-lite==1.0.8'",
        ) from e
    d = unidic_dir()
    args = [
        f"-r {shlex.quote(str(Path(d) / 'mecabrc'))}",
        f"-d {shlex.quote(d)}",
        "-O ''",
        f"-F '{(_FULL_FORMAT if full else _SHORT_FORMAT)[0]}'",
        f"-U '{(_FULL_FORMAT if full else _SHORT_FORMAT)[1]}'",
        "-E ''",
    ]
    if dic:
        args.append(f"-u {shlex.quote(dic)}")
    try:
        return fugashi.GenericTagger(" ".join(args), quiet=True)
    except RuntimeError as e:
        raise ConfigError(
            f"MeCab could not start with dictionary {d}"
            + (f" and user dictionary {dic}" if dic else "")
            + f": {str(e).strip()[-300:]}",
            "MeCab を起動できませんでした（辞書の指定を確認してください）。",
            hint="Reinstall unidic-lite, or rebuild the user dictionary from its CSV.",
        ) from e


def _resolve_user_dict(user_dict: str | None) -> str | None:
    """A compiled ``.dic`` path for a CSV (compiled and cached) or a ``.dic`` path as given."""
    if not user_dict:
        return None
    if user_dict.endswith(".dic"):
        if not Path(user_dict).exists():
            raise ConfigError(
                f"User dictionary {user_dict} does not exist.",
                f"ユーザー辞書 {user_dict} が見つかりません。",
                hint="Check the user_dict setting.",
            )
        return user_dict
    return str(compile_user_dict(user_dict))


def _split_feature(raw: str) -> list[str]:
    if '"' in raw:
        return next(csv.reader([raw]))
    return raw.split(",")


def tokenize(text: str, user_dict: str | None = None) -> list[Token]:
    """Morphemes of ``text`` with offsets into ``text`` (whitespace between them is skipped).

    ``user_dict`` is a user-dictionary CSV (compiled and cached on first use) or a compiled
    ``.dic``. Long texts are analysed in windows of about 8,000 characters; a window ends one
    morpheme early and the next starts there, so no morpheme is cut by a window edge.
    """
    tagger = _tagger(_resolve_user_dict(user_dict))
    return _windowed(text, lambda a, b: _tokens_in(tagger, text, a, b), lambda t: t.end)


def token_spans(text: str, user_dict: str | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of each morpheme of ``text``: :func:`tokenize` without the features.

    About as fast as a bare fugashi loop; the chunker uses it to cut over-long sentences at
    morpheme boundaries.
    """
    tagger = _tagger(_resolve_user_dict(user_dict))
    return _windowed(text, lambda a, b: _spans_in(tagger, text, a, b), lambda t: t[1])


def _windowed(text: str, analyse: Any, end_of: Any) -> list[Any]:
    out: list[Any] = []
    pos = 0
    n = len(text)
    while pos < n:
        stop = min(n, pos + _TOKENIZE_WINDOW)
        items = analyse(pos, stop)
        if stop < n and len(items) > 1:
            items.pop()  # may be cut by the window edge: analyse it again in the next window
            out.extend(items)
            pos = end_of(items[-1])
        else:
            out.extend(items)
            pos = stop
    return out


def _spans_in(tagger: Any, text: str, a: int, b: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = a
    for node in tagger(text[a:b]):
        surface = node.surface
        pos += len(node.white_space)
        if not text.startswith(surface, pos):  # defensive: MeCab skipped something else
            pos = text.find(surface, pos)
        out.append((pos, pos + len(surface)))
        pos += len(surface)
    return out


def _tokens_in(tagger: Any, text: str, a: int, b: int) -> list[Token]:
    out: list[Token] = []
    pos = a
    for node in tagger(text[a:b]):
        surface = node.surface
        pos += len(node.white_space)
        if not text.startswith(surface, pos):  # defensive: MeCab skipped something else
            pos = text.find(surface, pos)
        f = _split_feature(node.feature_raw)
        base = f[10] if len(f) > 10 and f[10] not in ("", "*") else surface
        reading = f[17] if len(f) > 17 and f[17] != "*" else ""
        pos_name = "-".join(x for x in f[:4] if x and x != "*")
        out.append(Token(surface, base, reading, pos_name, pos, pos + len(surface)))
        pos += len(surface)
    return out


@dataclass(frozen=True)
class AnalyzerConfig:
    """How :class:`Analyzer` turns text into BM25 terms."""

    use_base_form: bool = True
    """Index the dictionary form (``orthBase``: 行っ → 行く) instead of the surface."""
    drop_pos: tuple[str, ...] = DEFAULT_DROP_POS
    """UniDic first-level parts of speech whose morphemes are dropped."""
    fold_width: bool = True
    """Apply NFKC before analysis (full-width ASCII → ASCII, half-width kana → full-width)."""
    lowercase: bool = True
    """Lower-case terms (``HTTP404`` → ``http404``)."""
    user_dict: str | None = None
    """User-dictionary CSV (``surface,reading,pos``) or compiled ``.dic``; None for none."""


class Analyzer:
    """Callable text → BM25 terms (plug into ``bm25s.tokenize`` or any BM25 as the splitter).

    The instance holds no MeCab state (taggers live per thread), so it can be pickled and used
    from several threads.
    """

    def __init__(self, config: AnalyzerConfig = AnalyzerConfig()) -> None:
        self.config = config
        self._dic = _resolve_user_dict(config.user_dict)
        rows: list[list[str]] = []
        if config.user_dict and not config.user_dict.endswith(".dic"):
            user_terms = read_user_dict(config.user_dict)
            rows = mecab_rows(user_terms, unidic_dir())
            terms = [self._fold(t.surface) for t in user_terms]
        else:
            terms = []
        self._protect = _protect_pattern(terms, config.lowercase)
        # Short-line keys (see _SHORT_FORMAT) of dropped morphemes and of conjugating words.
        self._drop_keys = _drop_key_set(config.drop_pos)
        self._conj_keys: frozenset[str] = frozenset()
        # "key \t surface" → term where it is not the surface (None: ambiguous, full line needed)
        self._fixed: dict[str, str | None] = {}
        self._learned: dict[str, str] = {}  # conjugating "key \t surface" → orthBase
        self._ambiguous: frozenset[str] = frozenset()  # keys never learned
        # Recent share of texts short lines could not map (a conjugated form not learned yet, or
        # an ambiguous key): full lines while it is high.
        self._miss_rate = 1.0
        self._sys_dic: SysDic | None = None
        # Short line → term ("" for a dropped morpheme); None: full lines only.
        self._line_terms: dict[str, str] | None = {"": ""}
        if not config.use_base_form:
            return  # the term is the surface: short lines always do
        # Full lines "key \t surface \t term" → (conjugating "key \t surface", its term, term).
        drop = _drop_keys(config.drop_pos)
        skip = rf"(?!(?:{drop})\t(?!{_PLACEHOLDER}))" if drop else ""
        conj_ids = sorted(_conjugating_ids(config.drop_pos))
        self._full = re.compile(
            rf"^{skip}(?:((?:{_id_alternatives(conj_ids)})\t[^\t\n]+)\t([^\n]+)"
            rf"|[^\t\n]*\t[^\t\n]*\t([^\n]+))$",
            re.M,
        )
        table = _term_table(self._dic is not None and not rows)
        if table is None:
            self._line_terms = None  # a dictionary the table was not built from: full lines
            return
        self._conj_keys = frozenset(map(str, conj_ids))
        self._ambiguous = table.ambiguous
        # Without a user dictionary a conjugated form's term is looked up in sys.dic: short
        # lines from the first text (a user dictionary's forms are learned from full lines).
        self._sys_dic = sys_dic(unidic_dir()) if self._dic is None else None
        if self._sys_dic is not None:
            self._miss_rate = 0.0
        self._fixed = {**table.fixed, **dict.fromkeys(table.ambiguous)}
        for row in rows:  # user terms: surface, left id, right id, cost, features
            key, base = f"{row[1]}\t{row[0]}", row[14]
            if base != row[0] or key in self._fixed:
                self._fixed[key] = None

    def _fold(self, text: str) -> str:
        if self.config.fold_width and not unicodedata.is_normalized("NFKC", text):
            # Full-width forms first (per character, faster than normalize); exact: NFKC(text)
            # is NFKC of any text with characters replaced by their own NFKC.
            text = text.translate(_FULL_WIDTH_NFKC)
            if not unicodedata.is_normalized("NFKC", text):
                text = unicodedata.normalize("NFKC", text)
        if self.config.lowercase:
            text = text.lower()
        return text

    def __call__(self, text: str) -> list[str]:
        """BM25 terms of ``text``, in text order.

        Texts longer than about 8,000 characters are analysed in windows cut at a line break,
        sentence end, space or comma (MeCab itself fails on inputs of a few hundred thousand
        characters).
        """
        text = self._fold(text)
        if _PLACEHOLDER in text:
            text = text.replace(_PLACEHOLDER, " ")
        parts = self._protect.split(text)  # [text, protected, text, protected, ..., text]
        protected = parts[1::2]
        if protected:
            text = _PADDED_PLACEHOLDER.join(parts[::2])
        if len(text) <= _TOKENIZE_WINDOW:
            terms = self._terms(text)
        else:  # MeCab crashes on very long inputs: analyse in windows cut at breaks
            terms = []
            for piece in _windows(text):
                terms += self._terms(piece)
        i = -1
        for piece in protected:  # each placeholder became one term, in order
            i = terms.index(_PLACEHOLDER, i + 1)
            terms[i] = piece
        return terms

    def _terms(self, text: str) -> list[str]:
        if not self.config.use_base_form:
            # Never None here: with the surface as the term, no line needs a full line.
            return self._terms_from_short(text)  # type: ignore[return-value]
        # Short lines pay off once most conjugated forms are learned; until then a text that
        # needs a form not seen yet would be parsed twice, so use full lines (which learn) while
        # the recent rate of such texts is high.
        if self._line_terms is not None and self._miss_rate < _MISS_RATE_FOR_SHORT:
            terms = self._terms_from_short(text)
            self._miss_rate *= 1 - _MISS_RATE_WEIGHT
            if terms is not None:
                return terms
            self._miss_rate += _MISS_RATE_WEIGHT
        return self._terms_from_full(text)

    def _terms_from_short(self, text: str) -> list[str] | None:
        """Terms from short lines, or None when a line's term is not known from them."""
        cache = self._line_terms
        assert cache is not None
        lines = _tagger(self._dic, full=False).parse(text).split("\n")
        terms = list(map(cache.get, lines))
        if None in terms:  # lines not seen before
            if len(cache) > _LINES_MAX:
                cache.clear()
                cache[""] = ""
            for i in compress(count(), map(is_, terms, repeat(None))):  # their indices
                term = self._line_term(lines[i])
                if term is None:
                    return None
                terms[i] = cache[lines[i]] = term
        return list(filter(None, terms))  # drops the "" of dropped morphemes

    def _line_term(self, line: str) -> str | None:
        """The term of short line ``line``: "" when dropped, None when it needs a full line."""
        key, _, surface = line.partition("\t")
        if key in self._drop_keys and surface != _PLACEHOLDER:
            return ""
        if key in self._conj_keys:
            term = self._learned.get(line)
            if term is None and self._sys_dic is not None and line not in self._ambiguous:
                term = self._sys_dic.base_form(surface, int(key))
            return term
        return self._fixed.get(line, surface)

    def _terms_from_full(self, text: str) -> list[str]:
        """Terms from full lines (exact for any dictionary); remembers conjugated forms."""
        learned, ambiguous = self._learned, self._ambiguous
        if len(learned) > _LEARNED_MAX:
            learned.clear()
        out = []
        misses = 0  # lines short lines could not have mapped
        looked_up = self._sys_dic is not None  # then a new form is no miss, ambiguous ones are
        for conj_line, conj_term, term in self._full.findall(
            _tagger(self._dic, full=True).parse(text)
        ):
            if conj_line:
                if conj_line not in learned:
                    if conj_line in ambiguous:
                        misses += 1
                    else:
                        learned[conj_line] = conj_term
                        misses += not looked_up
                out.append(conj_term)
            else:
                out.append(term)
        # Would short lines have done? (the rate that decides between the two paths)
        self._miss_rate += _MISS_RATE_WEIGHT * ((misses > 0) - self._miss_rate)
        return out

    def analyze_many(self, texts: Iterable[str]) -> list[list[str]]:
        """``[self(t) for t in texts]``."""
        return [self(t) for t in texts]

    def settings(self) -> dict[str, Any]:
        """JSON-serialisable description, stored in a knowledge base's manifest."""
        import hashlib

        c = self.config
        user_hash = None
        if c.user_dict:
            user_hash = hashlib.sha256(Path(c.user_dict).read_bytes()).hexdigest()
        return {
            "analyzer": "jpagent.text.morph.Analyzer",
            "version": ANALYZER_VERSION,
            "dictionary": f"unidic-lite {(Path(unidic_dir()) / 'version').read_text().strip()}",
            "use_base_form": c.use_base_form,
            "drop_pos": list(c.drop_pos),
            "fold_width": c.fold_width,
            "lowercase": c.lowercase,
            "user_dict": c.user_dict,
            "user_dict_sha256": user_hash,
        }

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])  # type: ignore[misc]


_BREAKS = ("\n", "。", "！", "？", "!", "?", " ", "\u3000", "、", "，", ",")


def _windows(text: str) -> Iterable[str]:
    """Slices of ``text`` of at most ``_TOKENIZE_WINDOW`` characters, cut after a line break,
    a sentence end, a space or a comma when one is in the second half of the window."""
    pos, n = 0, len(text)
    while pos < n:
        stop = min(n, pos + _TOKENIZE_WINDOW)
        if stop < n:
            half = pos + _TOKENIZE_WINDOW // 2
            for mark in _BREAKS:
                k = text.rfind(mark, half, stop)
                if k >= 0:
                    stop = k + 1
                    break
        yield text[pos:stop]
        pos = stop


def _drop_keys(drop_pos: tuple[str, ...]) -> str:
    """Regex alternatives for the line keys of dropped morphemes (see ``_SHORT_FORMAT``)."""
    if not drop_pos:
        return ""
    ids = sorted(i for i, pos1 in _left_id_pos1(unidic_dir()).items() if pos1 in drop_pos)
    return "|".join([_id_alternatives(ids), *(re.escape(p) for p in drop_pos)])


def _drop_key_set(drop_pos: tuple[str, ...]) -> frozenset[str]:
    """The line keys of dropped morphemes (see ``_SHORT_FORMAT``): left ids and POS names."""
    ids = (str(i) for i, pos1 in _left_id_pos1(unidic_dir()).items() if pos1 in drop_pos)
    return frozenset([*ids, *drop_pos])


def _conjugating_ids(drop_pos: tuple[str, ...]) -> set[int]:
    """Left ids of conjugating words (``cType`` not ``*``) that are not dropped."""
    pos1 = _left_id_pos1(unidic_dir())
    return {i for i in conjugating_left_ids(unidic_dir()) if pos1[i] not in drop_pos}


def _term_table(has_compiled_user_dict: bool) -> TermTable | None:
    """The shipped term table if it matches the installed dictionary (and no opaque ``.dic``)."""
    if has_compiled_user_dict:
        return None
    table = load_term_table()
    return table if table.dictionary == dictionary_signature() else None


def _id_alternatives(ids: list[int]) -> str:
    """One regex alternation matching exactly the decimal integers in sorted ``ids``."""
    if not ids:
        return "(?!)"  # matches nothing
    ranges: list[list[int]] = []
    for i in ids:
        if ranges and ranges[-1][1] == i - 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    return "|".join(alt for lo, hi in ranges for alt in _int_range(lo, hi))


@lru_cache(maxsize=4)
def _left_id_pos1(dicdir: str) -> dict[int, str]:
    out = {}
    with open(Path(dicdir) / "left-id.def", encoding="utf-8") as f:
        for line in f:
            num, _, feature = line.rstrip("\n").partition(" ")
            out[int(num)] = feature.split(",", 1)[0]
    return out


def _int_range(lo: int, hi: int) -> list[str]:
    """Regex alternatives matching exactly the decimal integers ``lo..hi`` (``lo >= 0``)."""
    if lo > hi:
        return []
    slo, shi = str(lo), str(hi)
    if len(slo) < len(shi):
        top = 10 ** len(slo) - 1
        return _int_range(lo, top) + _int_range(top + 1, hi)
    if lo == hi:
        return [slo]
    i = 0
    while slo[i] == shi[i]:
        i += 1
    prefix, rest = slo[:i], len(slo) - i - 1
    if slo[i + 1 :] == "0" * rest and shi[i + 1 :] == "9" * rest:
        return [prefix + f"[{slo[i]}-{shi[i]}]" + r"\d" * rest]
    if slo[i + 1 :] != "0" * rest:
        top = int(prefix + slo[i] + "9" * rest)
        return _int_range(lo, top) + _int_range(top + 1, hi)
    bottom = int(prefix + shi[i] + "0" * rest)
    return _int_range(lo, bottom - 1) + _int_range(bottom, hi)


def _protect_pattern(user_terms: list[str], lowercase: bool) -> re.Pattern[str]:
    """Regex for the pieces kept whole: user terms (longest first), then ASCII words."""
    alts = []
    for term in sorted(set(user_terms), key=len, reverse=True):
        pat = re.escape(term)
        if term[0].isascii() and term[0].isalnum():
            pat = r"(?<![A-Za-z0-9_])" + pat
        if term[-1].isascii() and term[-1].isalnum():
            pat += r"(?![A-Za-z0-9_])"
        alts.append(pat)
    word = _ASCII_WORD.replace("A-Za-z", "a-z") if lowercase else _ASCII_WORD
    alts.append(word)
    return re.compile(f"({'|'.join(alts)})")  # one group: re.split keeps the pieces
