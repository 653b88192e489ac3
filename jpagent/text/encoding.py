"""Detect and strictly decode the encodings Japanese files come in.

Supported: UTF-8 (with or without BOM), UTF-16/UTF-32 with a BOM, ISO-2022-JP (JIS, as in old
mail), CP932 (Windows Shift_JIS, with the NEC/IBM vendor characters ① ㈱ 髙 﨑 ～) and EUC-JP.
Decoding is always strict: a byte sequence that is invalid in an encoding rules that encoding
out; nothing is ever dropped or replaced.

The order of decisions, and why:

1. A byte-order mark names the encoding outright (UTF-8, UTF-32, UTF-16).
2. ISO-2022-JP is 7-bit and therefore also valid ASCII/UTF-8, so its escape sequences
   (``ESC $ B``, ``ESC $ @``, ``ESC ( I``, ``ESC $ ( Q``…) are looked for before anything else.
3. Pure ASCII is reported as ``ascii``.
4. Valid UTF-8 is preferred to the legacy encodings: a multi-byte UTF-8 sequence needs a lead
   byte followed by exactly the right number of continuation bytes, which CP932 and EUC-JP text
   longer than a few characters practically never produces by accident.
5. Otherwise CP932 and EUC-JP are both tried. CP932 (not ``shift_jis``) because Windows files
   carry vendor characters that ``shift_jis`` rejects, and because CP932 maps 0x8160 to ～
   (U+FF5E) as Windows does. EUC-JP falls back to EUC-JIS-2004 for the NEC row-13 symbols
   (①, ㈱). When both decode, the text that reads more like Japanese wins
   (:func:`japanese_score`): EUC-JP bytes read as CP932 turn into half-width katakana and rare
   kanji, CP932 bytes read as EUC-JP into rare kanji. A tie goes to CP932, the more common.
   Short EUC-JP/CP932 byte strings can also be valid UTF-8 (年 in EUC-JP is C7 AF, "ǯ" in
   UTF-8), so a legacy reading replaces a valid UTF-8 one when it is clearly more plausible.
   CP932 maps the lone bytes 0x80, 0xA0, 0xFD-0xFF to C1 controls and private-use characters
   instead of failing; a reading that holds them counts as a failure.
6. If nothing decodes, :class:`~jpagent.errors.DecodeError` names the file, every candidate
   tried and the byte offset where each one failed.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

from jpagent.errors import DecodeError


class Decoded(NamedTuple):
    """Decoded text, the encoding that decoded it and whether a byte-order mark was present.

    ``encoding`` is a codec name Python accepts (``codecs.lookup``), e.g. ``utf-8``, ``cp932``,
    ``euc-jp``, ``iso-2022-jp``, ``utf-16-le``, ``ascii``. The BOM is never part of ``text``.
    """

    text: str
    encoding: str
    bom: bool


class Attempt(NamedTuple):
    """One candidate encoding that failed: where and why (for the error message)."""

    encoding: str
    offset: int
    reason: str


# (BOM bytes, codec name). UTF-32 before UTF-16: FF FE 00 00 starts both.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Escape sequences that switch ISO-2022-JP into a multi-byte set or half-width katakana.
# ESC ( B / ESC ( J alone (back to ASCII / JIS-Roman) also occur in terminal output, so they
# do not count as evidence.
_ISO2022_DESIGNATION = re.compile(rb"\x1b(?:\$[@AB]|\$\([A-Z]|\(I)")

# Tried in order; escape sequences identify the character sets, so the first that decodes is it.
_ISO2022_CODECS = ("iso-2022-jp", "iso-2022-jp-ext", "iso-2022-jp-2004", "iso-2022-jp-2")
_EUC_CODECS = ("euc-jp", "euc-jis-2004")
_CANDIDATES = ("utf-8", "cp932", *_EUC_CODECS)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# C1 controls, and the private-use points CP932 gives the lone bytes A0, FD, FE, FF: no text holds
# them, so a reading that contains them counts as a failure (CP932 maps 0x80 to U+0080).
_STRAY = re.compile("[\x80-\x9f\uf8f0-\uf8f3]")

SCORE_SAMPLE = 4096
"""At most this many non-ASCII characters are scored per candidate (keeps big files fast)."""
UTF8_MARGIN = 1.0
"""How much more plausible a CP932/EUC-JP reading must be to beat a valid UTF-8 reading."""

# Japanese punctuation and symbols common in prose (score like kana).
_JA_PUNCT = frozenset("、。「」『』（）【】・ー〜～…！？：；，．　々〆")


def decode_bytes(data: bytes, source: str = "<bytes>", declared: str | None = None) -> Decoded:
    """Detect the encoding of ``data`` and decode it strictly.

    ``source`` names the input in error messages. ``declared`` is an encoding the container
    states (an HTML ``<meta charset>``, a mail header): it is tried right after a BOM check, with
    ``shift_jis`` labels read as CP932 (as browsers do); if it fails, detection takes over. A
    declared encoding that is neither Japanese nor Unicode (``iso-8859-1``…) is ignored when the
    data is valid non-ASCII UTF-8: single-byte codecs decode any bytes, and such a label on
    UTF-8 data is a stale template default.

    Raises :class:`~jpagent.errors.DecodeError` when no candidate decodes the bytes.
    """
    if not data:
        return Decoded("", "utf-8", False)
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data[len(bom) :].decode(name), name, True)
            except UnicodeDecodeError as exc:
                raise _error(source, [_attempt(name, exc, len(bom))]) from None
    attempts: list[Attempt] = []
    if declared:
        name = canonical_encoding(declared)
        if name is not None and (_is_japanese_or_unicode(name) or not _is_utf8(data)):
            try:
                return Decoded(data.decode(name), name, False)
            except UnicodeDecodeError as exc:
                attempts.append(_attempt(name, exc))
    if _ISO2022_DESIGNATION.search(data) and data.isascii():
        for name in _ISO2022_CODECS:
            try:
                return Decoded(data.decode(name), name, False)
            except UnicodeDecodeError as exc:
                attempts.append(_attempt(name, exc))
    if data.isascii():
        return Decoded(data.decode("ascii"), "ascii", False)
    return _decode_candidates(data, source, attempts)


def read_text(path: str | Path) -> Decoded:
    """Read a file's bytes and decode them with :func:`decode_bytes` (``OSError`` propagates)."""
    path = Path(path)
    return decode_bytes(path.read_bytes(), source=str(path))


def canonical_encoding(label: str) -> str | None:
    """Map an encoding label (``Shift_JIS``, ``x-sjis``, ``EUC-JP``, ``utf8``…) to a codec name.

    Shift_JIS labels map to ``cp932``, its Windows superset, as browsers do (WHATWG Encoding).
    Returns ``None`` for a label Python does not know.
    """
    key = label.strip().strip("\"'").lower().replace("_", "-")
    if key in {"shift-jis", "sjis", "x-sjis", "ms-kanji", "csshiftjis", "windows-31j", "ms932"}:
        return "cp932"
    if key in {"x-euc-jp", "cseucpkdfmtjapanese", "eucjp-ms", "eucjp"}:
        return "euc-jp"
    try:
        info = codecs.lookup(key)
    except LookupError:
        return None
    return {"utf-8": "utf-8", "euc_jp": "euc-jp", "iso2022_jp": "iso-2022-jp"}.get(
        info.name, info.name
    )


def japanese_score(text: str) -> float:
    """How plausible ``text`` is as a Japanese document, from -3 (garbage) to 2, per character.

    Only non-ASCII characters are scored (ASCII reads the same in every candidate), at most the
    first :data:`SCORE_SAMPLE` of them. Per character: hiragana 2; katakana and Japanese
    punctuation 1.5; kanji of JIS level 1 (the common ones) and full-width ASCII 1; JIS level-2
    kanji 0; Latin-1 and Latin Extended-A letters (é, ü, ł) 0.5, Greek, Cyrillic, symbols and
    the vendor characters ① ㈱ 0; rare kanji -1; half-width katakana -1.5 (EUC-JP read as CP932
    becomes mostly that); Latin Extended-B, IPA and combining marks -2 (EUC-JP kanji read as
    UTF-8 become those: 年 → ǯ); private-use, control and unassigned characters -3.
    Returns 0.0 for text without non-ASCII characters.
    """
    total = 0.0
    count = 0
    for match in itertools.islice(_NON_ASCII.finditer(text), SCORE_SAMPLE):
        count += 1
        total += _char_score(match.group())
    return total / count if count else 0.0


@functools.lru_cache(maxsize=8192)
def _char_score(ch: str) -> float:
    code = ord(ch)
    if 0x3041 <= code <= 0x309F:
        return 2.0
    if 0x30A0 <= code <= 0x30FF or ch in _JA_PUNCT:
        return 1.5
    if 0xFF01 <= code <= 0xFF5E:
        return 1.0
    if 0xFF61 <= code <= 0xFF9F:
        return -1.5
    if 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
        return _kanji_level_score(ch)
    category = unicodedata.category(ch)
    if category in {"Cc", "Cf", "Cn", "Co", "Cs"}:
        return -3.0
    if 0x00C0 <= code <= 0x017F and category.startswith("L"):
        return 0.5
    if 0x0180 <= code <= 0x036F:
        return -2.0
    if 0x0500 <= code <= 0x07FF:  # Armenian … NKo: what stray EUC/CP932 pairs decode to
        return -1.0
    return 0.0


def _kanji_level_score(ch: str) -> float:
    """1 for JIS X 0208 level-1 kanji (EUC lead byte B0-CF), 0 for level 2, -1 otherwise."""
    try:
        lead = ch.encode("euc-jp")[0]
    except UnicodeEncodeError:
        return -1.0
    if 0xB0 <= lead <= 0xCF:
        return 1.0
    if 0xD0 <= lead <= 0xF4:
        return 0.0
    return -1.0


def _is_japanese_or_unicode(name: str) -> bool:
    return name.startswith(("utf", "cp932", "shift", "euc", "iso2022", "iso-2022"))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not data.isascii()


def _decode_candidates(data: bytes, source: str, attempts: list[Attempt]) -> Decoded:
    """Decode with UTF-8, CP932 and EUC-JP; keep the valid reading that is most plausible.

    Candidates are ranked in that order, and a later one replaces the best so far only if its
    :func:`japanese_score` is higher by more than the best one's margin (a reading holding C1
    controls or CP932's stray-byte code points counts as a failure): :data:`UTF8_MARGIN`
    for UTF-8 (valid UTF-8 is strong evidence by itself; only short EUC-JP/CP932 byte strings
    are also valid UTF-8), 0 between CP932 and EUC-JP (so a tie keeps CP932).
    """
    best: Decoded | None = None
    best_score = 0.0
    euc_decoded = False
    for name in _CANDIDATES:
        if best is not None and best.encoding == "utf-8" and best_score >= 2.0 - UTF8_MARGIN:
            break  # nothing can beat it: a score is at most 2.0
        if name in _EUC_CODECS and euc_decoded:
            continue  # EUC-JIS-2004 is only a fallback for EUC-JP
        try:
            candidate = Decoded(data.decode(name), name, False)
        except UnicodeDecodeError as exc:
            attempts.append(_attempt(name, exc))
            continue
        stray = _STRAY.search(candidate.text)
        if stray is not None:
            offset = len(candidate.text[: stray.start()].encode(name))
            char = f"U+{ord(stray.group()):04X}"
            attempts.append(Attempt(name, offset, f"stray byte read as {char}"))
            continue
        euc_decoded = name in _EUC_CODECS
        score = japanese_score(candidate.text)
        margin = UTF8_MARGIN if best is not None and best.encoding == "utf-8" else 0.0
        if best is None or score > best_score + margin:
            best, best_score = candidate, score
    if best is None:
        raise _error(source, attempts)
    return best


def _attempt(name: str, exc: UnicodeDecodeError, shift: int = 0) -> Attempt:
    bad = exc.object[exc.start : exc.start + 4]
    return Attempt(name, exc.start + shift, f"{exc.reason} (bytes {bad.hex(' ')})")


def _error(source: str, attempts: list[Attempt]) -> DecodeError:
    tried = "; ".join(f"{a.encoding}: {a.reason} at byte {a.offset}" for a in attempts)
    tried_ja = "、".join(f"{a.encoding}（{a.offset}バイト目で失敗）" for a in attempts)
    return DecodeError(
        f"Cannot decode {source}: no candidate encoding decodes it strictly. Tried {tried}.",
        f"{source} の文字コードを判定できません。試した文字コード: {tried_ja}。",
        hint="Check that it is a text file; if it is, convert it to UTF-8 "
        "(e.g. `iconv -f CP932 -t UTF-8`) and load it again.",
    )
