"""Japanese-aware text normalisation with an offset map back to the original text.

:func:`normalize` returns the normalised text together with, for every output character, the
``[start, end)`` span of the original text it came from, so that a citation found in normalised
text can point at the source. NFKC changes lengths (``ｶﾞ`` → ``ガ``, ``㈱`` → ``(株)``,
``①`` → ``1``); the map follows every such change.

Rules, each switched by a :class:`NormalizeConfig` field:

* ``nfkc``: Unicode NFKC, applied one *cluster* (a starter plus the marks that follow it) at a
  time so that every output character knows its source. Half-width dakuten ``ﾞ``/``ﾟ`` and the
  combining marks ``U+3099``/``U+309A`` join the preceding character; a spacing ``゛``/``゜`` joins
  a preceding kana it can voice (``か゛`` → ``が``) and is otherwise kept as it is (plain NFKC would
  turn it into a space plus a combining mark).
* ``fold_width``: full-width ASCII to half-width, half-width katakana to full-width, the
  ideographic space to a space. Implied by ``nfkc``; useful alone when ``nfkc`` is off.
* ``unify_dashes``: hyphen-like characters (``‐ ‑ ‒ – − ﹣ －`` …) and dashes (``— ―``) become
  ``-``. The long-vowel mark ``ー`` stays ``ー`` after kana (``カタカナ``, ``すごーい``) and becomes
  ``-`` elsewhere (``03ー1234`` → ``03-1234``). A hyphen-like character right after katakana is
  read as a mistyped long-vowel mark and becomes ``ー`` (``サーバ－`` → ``サーバー``).
* ``unify_tildes``: ``〜 ～ 〰 ∼ ⁓`` become ``~``.
* ``fold_whitespace``: ``\\r\\n`` and ``\\r`` become ``\\n``; runs of spaces and tabs (including the
  ideographic space and no-break spaces) become one space; spaces next to a line break are
  dropped; three or more line breaks become two (a paragraph break); leading and trailing
  whitespace is dropped; zero-width spaces and stray BOMs (``U+200B``, ``U+2060``, ``U+FEFF``)
  are removed.
* ``lowercase``: ``str.lower`` per character (off by default: display text keeps its case).

Known simplification: NFKC compositions whose second character is a starter (Hangul conjoining
jamo aside, which are treated as marks) are not performed across clusters.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["NormalizeConfig", "Normalized", "normalize", "normalize_text"]


@dataclass(frozen=True)
class NormalizeConfig:
    """Which normalisation rules to apply (see the module docstring for each rule)."""

    nfkc: bool = True
    """Apply Unicode NFKC (compatibility characters, full-width ASCII, half-width kana, ①, ㈱…)."""
    fold_width: bool = True
    """Fold character width only (full-width ASCII → ASCII, half-width kana → full-width)."""
    unify_dashes: bool = True
    """Map hyphens and dashes to ``-`` while keeping the long-vowel mark ``ー`` after kana."""
    unify_tildes: bool = True
    """Map wave dashes and tildes (``〜 ～ 〰 ∼``) to ``~``."""
    fold_whitespace: bool = True
    """Fold runs of spaces, unify line breaks, keep paragraph breaks, trim the ends."""
    lowercase: bool = False
    """Lower-case letters (for search keys; display text keeps its case)."""


@dataclass(frozen=True)
class Normalized:
    """Normalised text and, per output character, the original span it came from.

    ``offsets[i]`` is the index in the original text where output character ``i`` starts;
    ``ends[i]`` the end (exclusive) of the original piece that produced it. Characters that come
    from one original piece share its span (``㈱`` → ``(``, ``株``, ``)`` all map to ``[k, k+1)``).
    """

    text: str
    offsets: array
    ends: array
    original_length: int

    def to_original(self, i: int) -> int:
        """Original index for output index ``i`` (``0 <= i <= len(text)``).

        ``i == len(text)`` maps to the original length (the end of the original text).
        """
        if i < 0 or i > len(self.text):
            raise IndexError(f"index {i} outside normalised text of length {len(self.text)}")
        if i == len(self.text):
            return self.original_length
        return self.offsets[i]

    def to_original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` covering the output span ``[start, end)``."""
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span ({start}, {end}) outside text of length {len(self.text)}")
        if start == end:
            pos = self.to_original(start)
            return pos, pos
        return self.offsets[start], self.ends[end - 1]


# Characters that need no work under any config except lowercase (handled via the pattern):
# hiragana, katakana (without ー), CJK ideographs, Japanese punctuation and ASCII graphic
# characters other than those the rules touch. Everything else goes through the slow path.
_SAFE_JA = (
    "\u3041-\u3096\u30a1-\u30fa\u30fd\u30fe\u4e00-\u9fff\u3001\u3002\u300c-\u300f\u3010\u3011"
)
_SAFE_ASCII_NO_UPPER = "!-@\\[-}"  # ASCII graphic chars minus A-Z and '~'
_SAFE_ASCII_UPPER = "A-Z"

_HYPHENS = frozenset("\u2010\u2011\u2012\u2013\u2043\u2212\ufe63\uff0d\u02d7\u058a\u207b\u208b")
_DASHES = frozenset("\u2014\u2015\u2e3a\u2e3b")
_LONG_VOWEL = "\u30fc"
_TILDES = frozenset("\u301c\uff5e\u3030\u223c\u2053\u007e")
_FAST_WS = frozenset(" \t\n\u3000")  # handled inline; \r goes through _emit_char
_INVISIBLE = frozenset("\u200b\u2060\ufeff")  # zero-width space, word joiner, BOM
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x0b\x0c\x85")
# Marks that join the preceding character even though some have combining class 0.
_JOINERS = frozenset("\uff9e\uff9f\u3099\u309a")
_SPACING_VOICE = {"\u309b": "\u3099", "\u309c": "\u309a"}  # ゛ ゜ → combining forms


def _is_kana(ch: str) -> bool:
    o = ord(ch)
    return 0x3041 <= o <= 0x309F or 0x30A1 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF


def _is_katakana(ch: str) -> bool:
    o = ord(ch)
    return 0x30A1 <= o <= 0x30FA or 0x31F0 <= o <= 0x31FF


def _is_mark(ch: str) -> bool:
    if ch in _JOINERS:
        return True
    o = ord(ch)
    if 0x1160 <= o <= 0x11FF:  # Hangul medial vowels and final consonants
        return True
    return unicodedata.combining(ch) != 0


def _is_wide_or_half(ch: str) -> bool:
    o = ord(ch)
    return 0xFF01 <= o <= 0xFFEF or o == 0x3000


@lru_cache(maxsize=16)
def _unsafe_pattern(lowercase: bool, fold_whitespace: bool) -> re.Pattern[str]:
    safe = _SAFE_JA + _SAFE_ASCII_NO_UPPER + ("" if lowercase else _SAFE_ASCII_UPPER)
    if not fold_whitespace:
        safe += " "
        return re.compile(f"[{safe}]?[^{safe}]+")
    # A single space between two safe characters is safe too (folding leaves it as it is).
    # One optional safe character comes before an unsafe run, so that a mark following a
    # safe character (か + U+3099) is processed together with it.
    return re.compile(f"[{safe}]?(?:[^{safe} ]|(?<![{safe}]) | (?![{safe}]))+")


def normalize(text: str, config: NormalizeConfig = NormalizeConfig()) -> Normalized:
    """Normalise ``text`` by ``config`` and return the text with its offset map.

    Runs in time linear in ``len(text)``: characters that no rule changes are copied in bulk.
    """
    builder = _Builder(config)
    pattern = _unsafe_pattern(config.lowercase, config.fold_whitespace)
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            builder.add_safe(text, pos, m.start())
        builder.add_unsafe(text, m.start(), m.end())
        pos = m.end()
    if pos < len(text):
        builder.add_safe(text, pos, len(text))
    return builder.finish(len(text))


def normalize_text(text: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """Only the normalised text of :func:`normalize`."""
    return normalize(text, config).text


class _Builder:
    """Accumulates output pieces and their source spans; applies the per-character rules."""

    def __init__(self, config: NormalizeConfig) -> None:
        self.cfg = config
        self.parts: list[str] = []
        self.starts = array("q")
        self.ends = array("q")
        self.last = ""  # last character emitted (for the ー / dash context)
        # Pending whitespace (only with fold_whitespace): line-break count and source span.
        self.ws_newlines = 0
        self.ws_start = -1
        self.ws_end = -1
        self.prev_cr = False  # the last pending line break was a \r (so a \n completes \r\n)
        self.started = False  # something non-blank was emitted (leading blanks are dropped)
        # Per-call cache: source char -> output for context-free chars, or None (slow path).
        self.table: dict[str, str | None] = {}
        self.marks: dict[str, bool] = {}

    # -- bulk path -------------------------------------------------------------------------
    def add_safe(self, text: str, a: int, b: int) -> None:
        self._flush_ws()
        self.parts.append(text[a:b])
        self.starts.extend(range(a, b))
        self.ends.extend(range(a + 1, b + 1))
        self.last = text[b - 1]
        self.started = True

    # -- per-character path ----------------------------------------------------------------
    def add_unsafe(self, text: str, a: int, b: int) -> None:
        table, marks = self.table, self.marks
        parts, starts, ends = self.parts, self.starts, self.ends
        i = a
        while i < b:
            ch = text[i]
            j = i + 1
            if j < b:
                nxt = text[j]
                joined = marks.get(nxt)
                if joined is None:
                    joined = marks[nxt] = _is_mark(nxt) or nxt in _SPACING_VOICE
                if joined:
                    while j < b and (_is_mark(text[j]) or self._voices(text, j)):
                        j += 1
                    if j > i + 1:
                        self._add_cluster(text[i:j], i, j)
                        i = j
                        continue
            if ch in _FAST_WS and self.cfg.fold_whitespace:
                if self.ws_start < 0:
                    self.ws_start = i
                self.ws_end = j
                if ch == "\n":
                    if not self.prev_cr:
                        self.ws_newlines += 1
                    self.prev_cr = False
                i = j
                continue
            out = table.get(ch, "")
            if out == "":
                out = table[ch] = self._context_free(ch)
            if out is None:
                self._add_cluster(ch, i, j)
            else:
                if self.ws_start >= 0:
                    self._flush_ws()
                parts.append(out)
                if len(out) == 1:
                    starts.append(i)
                    ends.append(j)
                else:
                    starts.extend([i] * len(out))
                    ends.extend([j] * len(out))
                self.last = out[-1]
                self.started = True
            i = j

    def _context_free(self, ch: str) -> str | None:
        """Output for ``ch`` if it does not depend on its neighbours, else None."""
        cfg = self.cfg
        if ch in _SPACING_VOICE or ch in _JOINERS or ch == "\uff70":
            return None
        if cfg.unify_dashes and (ch in _HYPHENS or ch in _DASHES or ch == _LONG_VOWEL):
            return None
        out = self._fold(ch)
        if out == "":
            return None
        for c in out:
            if c.isspace() or c in _LINE_BREAKS or c in _INVISIBLE or c == _LONG_VOWEL:
                return None
        return "".join(self._post(c) for c in out)

    def _fold(self, cluster: str) -> str:
        """NFKC / width folding of one cluster (a character and the marks joined to it)."""
        cfg = self.cfg
        if not (cfg.nfkc or (cfg.fold_width and _is_wide_or_half(cluster[0]))):
            return cluster
        if cluster[0] in _SPACING_VOICE:
            # Stand-alone ゛/゜: NFKC would give a space plus a combining mark.
            return cluster[0] + unicodedata.normalize("NFKC", cluster[1:])
        fixed = "".join(_SPACING_VOICE.get(c, c) for c in cluster)
        out = unicodedata.normalize("NFKC", fixed)
        if out[:1] in ("\u3099", "\u309a"):  # stand-alone ﾞ/ﾟ
            out = ("\u309b" if out[0] == "\u3099" else "\u309c") + out[1:]
        return out

    def _post(self, c: str) -> str:
        """Context-free rules applied after folding: tildes and case."""
        if self.cfg.unify_tildes and c in _TILDES:
            c = "~"
        if self.cfg.lowercase:
            c = c.lower()
        return c

    def _voices(self, text: str, j: int) -> bool:
        """A spacing ゛/゜ joins a preceding kana that it can voice (NFKC-composable)."""
        ch = text[j]
        if ch not in _SPACING_VOICE or not (self.cfg.nfkc or self.cfg.fold_width):
            return False
        prev = unicodedata.normalize("NFKC", text[j - 1])
        composed = unicodedata.normalize("NFC", prev + _SPACING_VOICE[ch])
        return len(composed) == 1

    def _add_cluster(self, cluster: str, a: int, b: int) -> None:
        if self.cfg.unify_dashes and len(cluster) == 1:
            ch = cluster
            if ch in _HYPHENS:  # judged on the source char: － and − fold to '-' under NFKC
                after_katakana = bool(self.last) and _is_katakana(self.last)
                self._emit_char(_LONG_VOWEL if after_katakana else "-", a, b)
                return
            if ch in _DASHES:
                self._emit_char("-", a, b)
                return
        for ch in self._fold(cluster):
            self._emit_char(ch, a, b)

    def _emit_char(self, ch: str, a: int, b: int) -> None:
        cfg = self.cfg
        if cfg.fold_whitespace:
            if ch in _INVISIBLE:
                return
            if ch in _LINE_BREAKS or ch.isspace():
                if self.ws_start < 0:
                    self.ws_start = a
                self.ws_end = b
                if ch in _LINE_BREAKS:
                    # \r\n counts once: a \n right after a \r is the same line break.
                    if not (ch == "\n" and self.prev_cr):
                        self.ws_newlines += 1
                    self.prev_cr = ch == "\r"
                else:
                    self.prev_cr = False
                return
            if self.ws_start >= 0:
                self._flush_ws()
        if ch == _LONG_VOWEL and cfg.unify_dashes:
            ch = _LONG_VOWEL if self.last and _is_kana(self.last) else "-"
        ch = self._post(ch)
        self.parts.append(ch)
        self.starts.extend([a] * len(ch))
        self.ends.extend([b] * len(ch))
        self.last = ch[-1]
        self.started = True

    def _flush_ws(self) -> None:
        if self.ws_start < 0:
            return
        if self.started:
            piece = ("\n\n" if self.ws_newlines >= 2 else "\n") if self.ws_newlines else " "
            self.parts.append(piece)
            self.starts.extend([self.ws_start] * len(piece))
            self.ends.extend([self.ws_end] * len(piece))
            self.last = piece[-1]
        self.ws_start = self.ws_end = -1
        self.ws_newlines = 0
        self.prev_cr = False

    def finish(self, original_length: int) -> Normalized:
        # Pending trailing whitespace is never flushed: the end of the text is trimmed.
        return Normalized("".join(self.parts), self.starts, self.ends, original_length)
