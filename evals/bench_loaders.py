"""Decoding benchmark: Japanese legacy-encoded files through jpagent and the anchors' loaders.

    .venv/bin/python evals/bench_loaders.py [--data ../shared/data]

1. **Files.** Writes fixtures in CP932 (with the vendor characters ①㈱髙﨑～), EUC-JP,
   EUC-JIS-2004, ISO-2022-JP, UTF-16 LE/BE and UTF-8 with a BOM, plain UTF-8, a short EUC-JP
   string that is also valid UTF-8, and one undecodable file, into a temporary folder. Each is
   loaded with ``jpagent.loaders.load``, LlamaIndex ``SimpleDirectoryReader`` defaults
   (UTF-8, ``errors="ignore"``) and LangChain ``TextLoader`` defaults (the locale's encoding,
   no detection). Outcome per file and system: ``correct`` (the text, newlines unified),
   ``bom-kept`` (correct but for a leading U+FEFF), ``garbled`` (silently wrong text),
   ``error`` (an exception). For the undecodable file an error is the right outcome.
2. **PDF text extraction** of reportlab's Japanese CID-font PDFs (HeiseiMin-W3,
   HeiseiKakuGo-W5): pypdf against pdfminer.six, the choice behind ``jpagent.loaders.pdf``.
3. **Detection accuracy** on the JSQuAD validation paragraphs (if ``--data`` has them): each
   paragraph, and random 2/4/8-character snippets of it, encoded in UTF-8, CP932 and EUC-JP,
   then detected by jpagent and, when installed, by charset-normalizer.

Results go to ``evals/results/loaders-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import datetime as dt
import importlib.metadata
import io
import json
import logging
import os
import platform
import random
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "evals" / "results"

NOTICE = (
    "㈱さくらテック 総務部より\n"
    "① 年末年始の休業期間は12月28日～1月5日です。\n"
    "② 緊急連絡先は髙橋部長、大阪支店は山﨑さんです。\n"
    "③ ニャーニャーと鳴く猫の写真は社内報に載せます。\n"
)
PLAIN = "サーバ保守のお知らせ\n毎月第2土曜日の22時から翌2時まで停止します。\n連絡は半田まで。\n"
NEC = "①番会議室で㈱さくらテックの山﨑さんと打ち合わせ。\n"

# name, expected text, bytes writer (None expected = the file must be refused)
FIXTURES: list[tuple[str, str | None, Callable[[str], bytes]]] = [
    ("cp932_vendor_crlf.txt", NOTICE, lambda t: t.replace("\n", "\r\n").encode("cp932")),
    ("eucjp.txt", PLAIN, lambda t: t.encode("euc-jp")),
    ("euc_jis_2004_nec.txt", NEC, lambda t: t.encode("euc_jis_2004")),
    ("iso2022jp.txt", PLAIN, lambda t: t.encode("iso-2022-jp")),
    ("utf16le_bom.txt", NOTICE, lambda t: t.encode("utf-16")),
    ("utf16be_bom.txt", NOTICE, lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be")),
    ("utf8_bom.txt", NOTICE, lambda t: t.encode("utf-8-sig")),
    ("utf8.txt", NOTICE, lambda t: t.encode("utf-8")),
    ("eucjp_short_valid_utf8.txt", "2017年", lambda t: t.encode("euc-jp")),
    ("undecodable.txt", None, lambda t: "壊れた".encode() + b"\x80\xff\xfe\x80"),
]


def run_jpagent(path: Path) -> str:
    from jpagent.loaders import load

    return "".join(doc.text for doc in load(path))


def run_llamaindex(path: Path) -> str:
    from llama_index.core import SimpleDirectoryReader

    return "".join(doc.text for doc in SimpleDirectoryReader(input_files=[str(path)]).load_data())


def run_langchain(path: Path) -> str:
    with warnings_silenced():
        from langchain_community.document_loaders import TextLoader

    return "".join(doc.page_content for doc in TextLoader(str(path)).load())


SYSTEMS: dict[str, Callable[[Path], str]] = {
    "jpagent": run_jpagent,
    "LlamaIndex SimpleDirectoryReader": run_llamaindex,
    "LangChain TextLoader": run_langchain,
}


@contextlib.contextmanager
def warnings_silenced():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def classify(expected: str | None, output: str | None) -> str:
    if output is None:
        return "error"
    if expected is None:
        return "garbled"  # silently produced text from bytes that are no text
    output = output.replace("\r\n", "\n").replace("\r", "\n")
    if output == expected:
        return "correct"
    if output.lstrip("\ufeff") == expected:
        return "bom-kept"
    if output.strip() == expected.strip():
        return "correct"
    return "garbled"


def bench_files(workdir: Path) -> list[dict[str, Any]]:
    rows = []
    for name, expected, write in FIXTURES:
        path = workdir / name
        path.write_bytes(write(expected or ""))
        row: dict[str, Any] = {"file": name, "expected": "error" if expected is None else "text"}
        for system, run in SYSTEMS.items():
            try:
                with warnings_silenced():
                    output = run(path)
                error = ""
            except Exception as exc:  # an anchor may raise anything; that is the measurement
                output, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            outcome = classify(expected, output)
            row[system] = {
                "outcome": outcome,
                "sample": (output or "")[:40],
                "error": error,
            }
        rows.append(row)
    return rows


def bench_pdf(workdir: Path) -> list[dict[str, Any]]:
    from pdfminer.high_level import extract_text
    from pypdf import PdfReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    line = "①㈱髙﨑～ ＡＢＣ ｶﾀｶﾅ「パスワードは12文字以上」ニャーニャー"
    rows = []
    for font in ("HeiseiMin-W3", "HeiseiKakuGo-W5"):
        pdfmetrics.registerFont(UnicodeCIDFont(font))
        path = workdir / f"{font}.pdf"
        pdf = canvas.Canvas(str(path), invariant=1)
        pdf.setFont(font, 11)
        pdf.drawString(60, 780, line)
        pdf.showPage()
        pdf.save()
        outputs = {
            "pypdf": PdfReader(str(path)).pages[0].extract_text().strip(),
            "pdfminer.six": extract_text(str(path)).strip(),
        }
        row: dict[str, Any] = {"font": font, "expected": line}
        for name, output in outputs.items():
            wrong = [f"{a}→{b}" for a, b in zip(line, output, strict=False) if a != b][:3]
            row[name] = {
                "outcome": "correct" if output == line else "garbled",
                "output": output,
                "differences": wrong if len(output) == len(line) else [f"got `{output}`"],
            }
        rows.append(row)
    return rows


def bench_detection(data: Path | None) -> dict[str, Any] | None:
    if data is None:
        return None
    from jpagent.text.encoding import decode_bytes

    try:
        import charset_normalizer
    except ImportError:
        charset_normalizer = None
    doc = json.loads((data / "jsquad" / "valid-v1.3.json").read_text(encoding="utf-8"))
    paragraphs = [
        p["context"].partition(" [SEP] ")[2]
        for article in doc["data"]
        for p in article["paragraphs"]
    ]
    rng = random.Random(0)
    results: dict[str, Any] = {}
    for length in (None, 2, 4, 8):
        label = "paragraph" if length is None else f"{length} chars"
        texts = []
        for text in paragraphs:
            if length is not None:
                start = rng.randrange(max(1, len(text) - length))
                text = text[start : start + length]
            texts.append(text.replace("〜", "～"))  # CP932 writes U+301C as U+FF5E
        for encoding in ("utf-8", "cp932", "euc-jp"):
            cases = []
            for text in texts:
                try:
                    data_bytes = text.encode(encoding)
                except UnicodeEncodeError:
                    continue
                if not data_bytes.isascii():
                    cases.append((text, data_bytes))
            scores: dict[str, Any] = {"n": len(cases)}
            started = time.perf_counter()
            ok = 0
            for text, data_bytes in cases:
                with contextlib.suppress(Exception):
                    ok += decode_bytes(data_bytes).text == text
            scores["jpagent"] = ok / len(cases)
            scores["jpagent_seconds"] = round(time.perf_counter() - started, 3)
            if charset_normalizer is not None:
                ok = 0
                for text, data_bytes in cases:
                    best = charset_normalizer.from_bytes(data_bytes).best()
                    ok += best is not None and str(best) == text
                scores["charset-normalizer"] = ok / len(cases)
            results[f"{label} / {encoding}"] = scores
    return results


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("llama-index-core", "langchain-community", "pypdf", "pdfminer.six",
                 "reportlab", "charset-normalizer"):  # fmt: skip
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def printable(text: str) -> str:
    """Control characters as escapes, newlines as ⏎, pipes escaped: safe in a Markdown cell."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("⏎")
        elif ch == "`":
            out.append("\\x60")
        elif ch == "|":
            out.append("\\|")
        elif unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cn"}:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def render_markdown(report: dict[str, Any]) -> str:
    systems = list(SYSTEMS)
    lines = [
        f"# Loader decoding benchmark — {report['date']}",
        "",
        f"Command: `{report['command']}`  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
        "## Legacy-encoded files (correct / bom-kept / garbled / error)",
        "",
        "| file | expected | " + " | ".join(systems) + " |",
        "|---|---|" + "---|" * len(systems),
    ]
    for row in report["files"]:
        cells = []
        for system in systems:
            result = row[system]
            if result["outcome"] == "error":
                detail = result["error"].split(":")[0]
            else:
                detail = printable(result["sample"][:24])
            cells.append(f"**{result['outcome']}** `{detail}`")
        lines.append(f"| {row['file']} | {row['expected']} | " + " | ".join(cells) + " |")
    totals = {
        system: sum(
            row[system]["outcome"] == ("error" if row["expected"] == "error" else "correct")
            for row in report["files"]
        )
        for system in systems
    }
    lines += [
        "",
        "Right outcome: " + ", ".join(f"{s} {n}/{len(report['files'])}" for s, n in totals.items()),
        "",
        "## PDF text extraction, reportlab CID fonts (UniJIS-UCS2-H)",
        "",
        "| font | pypdf | pdfminer.six |",
        "|---|---|---|",
    ]
    for row in report["pdf"]:
        cells = [
            f"**{row[n]['outcome']}** {', '.join(row[n]['differences'])}"
            for n in ("pypdf", "pdfminer.six")
        ]
        lines.append(f"| {row['font']} | " + " | ".join(cells) + " |")
    lines += ["", f"Expected line: `{report['pdf'][0]['expected']}`", ""]
    if report["detection"]:
        lines += [
            "## Detection accuracy on JSQuAD validation text (share decoded exactly)",
            "",
            "| text / encoding | n | jpagent | charset-normalizer |",
            "|---|---|---|---|",
        ]
        for label, scores in report["detection"].items():
            other = scores.get("charset-normalizer")
            other_text = f"{other:.3f}" if other is not None else "n/a"
            lines.append(f"| {label} | {scores['n']} | {scores['jpagent']:.3f} | {other_text} |")
        lines += [
            "",
            "Snippets are random substrings of each paragraph (seed 0); strings whose bytes are "
            "pure ASCII are left out. 〜 (U+301C) is replaced by ～ (U+FF5E) first, since CP932 "
            "writes the one as the other.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="shared data folder with jsquad/ (default ../shared/data)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    data = Path(args.data or os.environ.get("JPAGENT_DATA_DIR") or ROOT.parent / "shared" / "data")
    if not (data / "jsquad" / "valid-v1.3.json").is_file():
        print(f"JSQuAD not found under {data}; skipping the detection section", file=sys.stderr)
        data = None
    with tempfile.TemporaryDirectory(prefix="bench_loaders_") as tmp:
        workdir = Path(tmp)
        with contextlib.redirect_stdout(io.StringIO()):  # anchors print progress bars
            files = bench_files(workdir)
        pdf = bench_pdf(workdir)
    today = dt.date.today().isoformat()
    report = {
        "date": today,
        "command": ".venv/bin/python evals/bench_loaders.py"
        + (" " + " ".join(argv or sys.argv[1:])).rstrip(),
        "versions": versions(),
        "files": files,
        "pdf": pdf,
        "detection": bench_detection(data),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"loaders-{today}.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    markdown = render_markdown(report)
    (RESULTS / f"loaders-{today}.md").write_text(markdown, encoding="utf-8")
    print(markdown)


if __name__ == "__main__":
    main()
