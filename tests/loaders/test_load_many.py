"""Format sniffing, the folder walker, size limits and load_many's skip report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from jpagent.errors import LoaderError
from jpagent.loaders import DEFAULT_MAX_BYTES, Skipped, load, load_many, walk
from jpagent.loaders.detect import sniff_format
from jpagent.loaders.walk import matches_any


def zip_bytes(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in members:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.txt", "本文".encode(), "txt"),
        ("a.LOG", b"log line", "txt"),
        ("a.md", b"# t", "md"),
        ("a.markdown", b"# t", "md"),
        ("a.HTM", b"<p>x</p>", "html"),
        ("a.csv", b"a,b", "csv"),
        ("a.tsv", b"a\tb", "csv"),
        ("a.txt", b"%PDF-1.4 ...", "pdf"),  # content wins over the extension
        ("a", zip_bytes("word/document.xml"), "docx"),
        ("page", b"\n<!DOCTYPE html><p>x</p>", "html"),
        ("u16.txt", "日本語".encode("utf-16"), "txt"),  # NUL bytes, but a UTF-16 BOM
    ],
)
def test_sniff_format(name: str, data: bytes, fmt: str) -> None:
    assert sniff_format(Path(name), data) == fmt


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("logo.png", b"\x89PNG\r\n\x1a\n....", "binary file (PNG image)"),
        ("photo.md", b"\xff\xd8\xff\xe0....", "binary file (JPEG image)"),
        ("a.txt", b"abc\x00def", "binary file (contains NUL bytes)"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1....", "legacy Office file"),
        ("book.xlsx", zip_bytes("xl/workbook.xml"), "Excel workbook"),
        ("slides.pptx", zip_bytes("ppt/presentation.xml"), "PowerPoint"),
        ("bundle.zip", zip_bytes("readme.txt"), "ZIP archive"),
        ("script.py", b"print('hi')", "unsupported file type '.py'"),
        ("noext", "日本語".encode(), "unsupported file type '(no extension)'"),
    ],
)
def test_sniff_refuses_binary_and_unsupported(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoaderError) as info:
        sniff_format(Path(name), data)
    assert info.value.message.startswith(f"{name}: ")
    assert reason in info.value.message


def test_size_limit_names_size_limit_and_setting(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("あ" * 1000, encoding="utf-8")  # 3,000 bytes
    with pytest.raises(LoaderError) as info:
        load(path, max_bytes=2048)
    assert info.value.message == f"{path}: 3,000 bytes is over the size limit of 2,048 bytes."
    assert "max_bytes" in info.value.hint
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    assert load(path, max_bytes=3000)[0].text == "あ" * 1000


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="no such file"):
        load(tmp_path / "nope.txt")
    with pytest.raises(LoaderError, match="is a folder"):
        load(tmp_path)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    files = {
        "規程/就業規則.md": "# 就業規則\n始業は9時。",
        "規程/drafts/草案.md": "# 草案",
        "b.txt": "ビー",
        "a.txt": "エー",
        "z/a.txt": "ゼット",
        "notes.md": "# メモ",
        ".hidden.txt": "隠し",
        ".venv/lib/site.txt": "venv",
        ".git/config.txt": "git",
        "__pycache__/x.txt": "cache",
        "empty.txt": "",
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00",
        "sjis.txt": "髙橋".encode("cp932"),
        "broken.txt": b"\x80\xff\x80\xff",
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def rel(paths, root: Path) -> list[str]:
    return [Path(p).relative_to(root).as_posix() for p in paths]


def test_walk_order_and_hidden(tree: Path) -> None:
    assert rel(walk(tree), tree) == [
        "a.txt",
        "b.txt",
        "broken.txt",
        "empty.txt",
        "image.png",
        "notes.md",
        "sjis.txt",
        "z/a.txt",
        "規程/drafts/草案.md",
        "規程/就業規則.md",
    ]


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        (("*.md",), (), ["notes.md", "規程/drafts/草案.md", "規程/就業規則.md"]),
        (("**/*.md",), ("規程/drafts/**",), ["notes.md", "規程/就業規則.md"]),
        (("**/*.md",), ("drafts",), ["notes.md", "規程/就業規則.md"]),
        (("規程/*.md",), (), ["規程/就業規則.md"]),
        (("*.txt",), ("z/**", "[be]*.txt", "sjis.txt"), ["a.txt"]),
        (("?.txt",), (), ["a.txt", "b.txt", "z/a.txt"]),
    ],
)
def test_walk_globs(tree: Path, include, exclude, expected) -> None:
    assert rel(walk(tree, include, exclude), tree) == expected


@pytest.mark.parametrize(
    ("path", "pattern", "matched"),
    [
        ("a/b/c.md", "**/*.md", True),
        ("c.md", "**/*.md", True),
        ("a/b/c.md", "a/*.md", False),
        ("a/b/c.md", "a/**/c.md", True),
        ("a/b/", "a/**", True),
        ("a/b/", "**/b", True),
        ("ab.md", "a[!b].md", False),
        ("~$報告.docx", "~$*", True),
    ],
)
def test_matches_any(path: str, pattern: str, matched: bool) -> None:
    assert matches_any(path, (pattern,)) is matched


def test_load_many_reports_skipped(tree: Path) -> None:
    report = load_many(tree)
    loaded = rel([doc.id for doc in report.documents], tree)
    assert loaded == [
        "a.txt",
        "b.txt",
        "notes.md",
        "sjis.txt",
        "z/a.txt",
        "規程/drafts/草案.md",
        "規程/就業規則.md",
    ]
    sjis = next(doc for doc in report.documents if doc.id.endswith("sjis.txt"))
    assert (sjis.text, sjis.metadata["encoding"]) == ("髙橋", "cp932")
    skipped = {Path(s.path).name: s for s in report.skipped}
    assert sorted(skipped) == ["broken.txt", "empty.txt", "image.png"]
    assert "empty file" in skipped["empty.txt"].reason
    assert "PNG image" in skipped["image.png"].reason
    assert "Cannot decode" in skipped["broken.txt"].reason
    assert all(s.reason_ja for s in report.skipped)
    assert all(isinstance(s, Skipped) for s in report.skipped)


def test_load_many_files_and_folders_once(tree: Path) -> None:
    report = load_many([tree / "a.txt", tree, tree / "missing"], include=("*.txt",), exclude=("z",))
    assert rel([d.id for d in report.documents], tree) == ["a.txt", "b.txt", "sjis.txt"]
    assert [Path(s.path).name for s in report.skipped] == ["broken.txt", "empty.txt", "missing"]


def test_load_many_size_limit_is_a_skip(tree: Path) -> None:
    report = load_many(tree / "規程", max_bytes=5)
    assert report.documents == []
    assert all("size limit of 5 bytes" in s.reason for s in report.skipped)
