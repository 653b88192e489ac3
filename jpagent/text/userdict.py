"""Company-term user dictionaries for MeCab (fugashi + unidic-lite).

A user dictionary is a CSV file with one term per line: ``surface,reading,pos``::

    # 社内用語 (lines starting with # are comments; a header line is allowed)
    surface,reading,pos
    スマート勤怠Pro,スマートキンタイプロ,名詞-固有名詞-一般
    経費ナビ,ケイヒナビ,固有名詞

``reading`` is katakana or hiragana (may be empty); ``pos`` is a UniDic part of speech written
with ``-`` or ``,`` between levels (``名詞-固有名詞-一般``), or just ``固有名詞`` / ``普通名詞`` /
``名詞`` (empty means ``名詞-固有名詞-一般``). :func:`compile_user_dict` turns the CSV into a MeCab
``.dic`` with fugashi's copy of ``mecab-dict-index``, in a cache directory, under a name derived
from the CSV's hash (and the dictionary version), so an unchanged CSV compiles once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import shlex
import subprocess
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from jpagent.errors import ConfigError

__all__ = ["UserTerm", "compile_user_dict", "default_cache_dir", "read_user_dict", "unidic_dir"]

log = logging.getLogger(__name__)

# Bump when the generated CSV format changes, so cached .dic files are rebuilt.
_FORMAT_VERSION = "1"
# Word cost of user terms: low, so that a listed term wins over splitting it into known words.
_USER_COST = -1000
_HEADER_WORDS = frozenset({"surface", "表層形", "見出し", "見出し語", "term", "用語"})


class UserTerm(NamedTuple):
    """One user-dictionary entry: surface form, katakana reading, 4-level UniDic POS."""

    surface: str
    reading: str
    pos: tuple[str, str, str, str]


def unidic_dir() -> str:
    """The unidic-lite dictionary directory, or a ConfigError saying how to install it."""
    try:
        import unidic_lite
    except ImportError as e:
        raise ConfigError(
            "The MeCab dictionary unidic-lite is not installed.",
            "MeCab辞書 unidic-lite がインストールされていません。",
            hint="pip install 'unidic-lite==1.0.8' fugashi",
        ) from e
    return str(unidic_lite.DICDIR)


def default_cache_dir() -> Path:
    """Where compiled user dictionaries go: ``userdic/`` in the user cache (``XDG_CACHE_HOME``).

    Compiled files are keyed by the CSV's content hash, so a shared cache is safe.
    """
    import platformdirs

    return Path(platformdirs.user_cache_dir("jpagent")) / "userdic"


def _to_katakana(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)


def _parse_pos(raw: str, path: Path, line: int) -> tuple[str, str, str, str]:
    parts = [p.strip() for p in raw.replace(",", "-").split("-") if p.strip()]
    if not parts or parts == ["名詞"]:
        parts = ["名詞", "固有名詞", "一般"]
    elif parts[0] in ("固有名詞", "普通名詞"):
        parts = ["名詞", parts[0], "一般"]
    if len(parts) > 4:
        raise ConfigError(
            f"{path}:{line}: part of speech {raw!r} has more than 4 levels.",
            f"{path} の {line} 行目: 品詞 {raw!r} の階層が4つを超えています。",
            hint="Write it like 名詞-固有名詞-一般.",
        )
    parts += ["*"] * (4 - len(parts))
    return parts[0], parts[1], parts[2], parts[3]


def read_user_dict(path: str | os.PathLike[str]) -> list[UserTerm]:
    """Read a user-dictionary CSV (``surface,reading,pos``; see the module docstring)."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise ConfigError(
            f"User dictionary {p} does not exist.",
            f"ユーザー辞書 {p} が見つかりません。",
            hint="Check the user_dict setting.",
        ) from e
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"User dictionary {p} is not UTF-8 (byte {e.start}).",
            f"ユーザー辞書 {p} が UTF-8 ではありません（{e.start} バイト目）。",
            hint="Save the CSV as UTF-8.",
        ) from e
    terms: list[UserTerm] = []
    for lineno, row in enumerate(csv.reader(io.StringIO(raw)), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if not terms and row[0].strip().lower() in _HEADER_WORDS:
            continue
        surface = row[0].strip()
        if any(c.isspace() for c in surface):
            raise ConfigError(
                f"{p}:{lineno}: term {surface!r} contains whitespace; MeCab cannot match it.",
                f"{p} の {lineno} 行目: 用語 {surface!r} に空白が含まれています。",
                hint="Remove the spaces or list the parts as separate terms.",
            )
        reading = _to_katakana(row[1].strip()) if len(row) > 1 else ""
        pos = _parse_pos(",".join(row[2:]), p, lineno)  # POS may be written with commas
        terms.append(UserTerm(surface, reading or "*", pos))
    return terms


@lru_cache(maxsize=4)
def _context_ids(dicdir: str) -> tuple[dict[str, int], dict[str, int]]:
    def load(name: str) -> dict[str, int]:
        ids: dict[str, int] = {}
        with open(Path(dicdir) / name, encoding="utf-8") as f:
            for line in f:
                num, _, feat = line.rstrip("\n").partition(" ")
                ids.setdefault(feat, int(num))
        return ids

    return load("left-id.def"), load("right-id.def")


def _ids_for(pos: tuple[str, str, str, str], dicdir: str) -> tuple[int, int]:
    left, right = _context_ids(dicdir)
    goshu = "固" if pos[1] == "固有名詞" else "混"
    for g in (goshu, "*"):
        key = ",".join((*pos, "*", "*", "*", "*", g))
        if key in left and key in right:
            return left[key], right[key]
    key = "名詞,固有名詞,一般,*,*,*,*,*,固"
    return left[key], right[key]


def mecab_rows(terms: list[UserTerm], dicdir: str) -> list[list[str]]:
    """MeCab dictionary-source rows: surface, left id, right id, cost, UniDic's 26 features.

    Each term also gets a row for its NFKC form (its ``orthBase`` stays the term as written).
    """
    rows: list[list[str]] = []
    seen: set[str] = set()
    for t in terms:
        lid, rid = _ids_for(t.pos, dicdir)
        goshu = "固" if t.pos[1] == "固有名詞" else "混"
        r = t.reading
        for surface in dict.fromkeys((t.surface, unicodedata.normalize("NFKC", t.surface))):
            if surface in seen:
                continue
            seen.add(surface)
            feats = [*t.pos, "*", "*", r, t.surface, surface, r, t.surface, r, goshu]
            feats += ["*"] * 4 + [r] * 4 + ["*"] * 5
            rows.append([surface, str(lid), str(rid), str(_USER_COST), *feats])
    return rows


def compile_user_dict(
    csv_path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Compile a user-dictionary CSV into a MeCab ``.dic`` (cached by content hash).

    Returns the path of the compiled dictionary. The compiler runs in a child process (MeCab's
    tool prints progress and may exit the process on bad input); its output goes into the
    error if it fails.
    """
    from filelock import FileLock

    src = Path(csv_path)
    terms = read_user_dict(src)
    if not terms:
        raise ConfigError(
            f"User dictionary {src} has no terms.",
            f"ユーザー辞書 {src} に用語がありません。",
            hint="Add lines like: スマート勤怠Pro,スマートキンタイプロ,名詞-固有名詞-一般",
        )
    dicdir = unidic_dir()
    version = (Path(dicdir) / "version").read_text(encoding="utf-8").strip()
    digest = hashlib.sha256(src.read_bytes() + f"|{_FORMAT_VERSION}|{version}".encode()).hexdigest()
    out_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"userdic-{digest[:16]}.dic"
    if target.exists():
        return target
    with FileLock(str(target) + ".lock"):
        if target.exists():
            return target
        tmp_csv = out_dir / f"userdic-{digest[:16]}.{os.getpid()}.csv"
        tmp_dic = out_dir / f"userdic-{digest[:16]}.{os.getpid()}.dic"
        try:
            with open(tmp_csv, "w", encoding="utf-8", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows(mecab_rows(terms, dicdir))
            args = " ".join(
                [
                    "mecab-dict-index -f utf8 -t utf8",
                    f"-d {shlex.quote(dicdir)}",
                    f"-u {shlex.quote(str(tmp_dic))}",
                    shlex.quote(str(tmp_csv)),
                ]
            )
            code = "import sys, fugashi; fugashi.build_dictionary(sys.argv[1])"
            proc = subprocess.run(
                [sys.executable, "-c", code, args], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0 or not tmp_dic.exists():
                raise ConfigError(
                    f"Compiling user dictionary {src} failed: "
                    f"{(proc.stdout + proc.stderr).strip()[-500:]}",
                    f"ユーザー辞書 {src} のコンパイルに失敗しました。",
                    hint="Check the CSV lines (surface,reading,pos) and the POS names.",
                )
            os.replace(tmp_dic, target)
            log.info("compiled user dictionary %s -> %s (%d terms)", src, target, len(terms))
        finally:
            tmp_csv.unlink(missing_ok=True)
            tmp_dic.unlink(missing_ok=True)
    return target
