"""``jpagent eval mtbench fetch`` against a real local HTTP server laid out like the repository.

GitHub cannot be reached here, so a ``http.server`` on 127.0.0.1 serves the shared data files
under FastChat's paths (``fastchat/llm_judge/data/...``); the client code is the real one.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jpagent.cli import app
from jpagent.evals.mtbench import data
from jpagent.evals.mtbench.fetch import FILES, FetchError, fetch_mtbench

runner = CliRunner()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path, data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, served folder): the four files at their repository paths."""
    served = tmp_path / "served"
    for remote, local, _key in FILES:
        target = served / remote
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / "ja_mt_bench" / local, target)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_writes_the_layout_the_runner_reads(mirror, tmp_path: Path, data_dir: Path) -> None:
    base, _ = mirror
    rows = fetch_mtbench(tmp_path / "data", base_url=base)
    assert [r.status for r in rows] == ["fetched"] * 4
    got = tmp_path / "data" / "ja_mt_bench"
    for _remote, local, _key in FILES:
        assert (got / local).read_bytes() == (data_dir / "ja_mt_bench" / local).read_bytes()
    assert len(data.load_questions(got / "question_full.jsonl")) == 80
    assert rows[0].records == 80
    again = fetch_mtbench(tmp_path / "data", base_url=base)  # present files are kept
    assert [r.status for r in again] == ["present"] * 4


def test_a_bad_file_is_refused_and_nothing_is_left(mirror, tmp_path: Path) -> None:
    base, served = mirror
    (served / FILES[1][0]).write_text('{"name": "single-v1"}\n<html>rate limited</html>\n')
    with pytest.raises(FetchError, match="line 2 is not JSON"):
        fetch_mtbench(tmp_path / "data", base_url=base)
    root = tmp_path / "data" / "ja_mt_bench"
    assert (root / "question_full.jsonl").exists()  # the file before it landed whole
    assert sorted(p.name for p in root.iterdir()) == ["question_full.jsonl"]  # no temp files


def test_missing_file_names_the_url(mirror, tmp_path: Path) -> None:
    base, served = mirror
    (served / FILES[0][0]).unlink()
    with pytest.raises(FetchError, match="HTTP 404") as info:
        fetch_mtbench(tmp_path / "data", base_url=base)
    assert FILES[0][0] in str(info.value)


def test_unreachable_server_says_how_to_work_offline(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="copy question_full.jsonl"):
        fetch_mtbench(tmp_path / "data", base_url="http://127.0.0.1:9/", timeout=2.0)


def test_cli_fetch_json(mirror, tmp_path: Path) -> None:
    base, _ = mirror
    out = tmp_path / "data"
    args = ["eval", "mtbench", "fetch", "--out", str(out), "--base-url", base, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [f["status"] for f in payload["files"]] == ["fetched"] * 4
    assert payload["files"][0]["records"] == 80
    assert payload["command"].startswith("jpagent eval mtbench fetch")
    nowhere = ["eval", "mtbench", "fetch", "--out", str(out), "--base-url", "http://127.0.0.1:9/"]
    result = runner.invoke(app, nowhere)
    assert result.exit_code == 0  # every file present: nothing downloaded
    result = runner.invoke(app, [*nowhere, "--force"])
    assert result.exit_code == 1 and "Could not download" in result.output
