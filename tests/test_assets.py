"""Model assembly: good parts verify; tampered, short, long or missing parts are refused by name;
concurrent assembly is safe. Small fake parts keep these fast; one test uses the real default."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from jpagent import assets
from jpagent.assets import AssembledAsset, Part, assemble, verify_file
from jpagent.errors import AssetError


def make_parts(tmp: Path, sizes=(4096, 4096, 1000)) -> tuple[AssembledAsset, list[Path]]:
    rng = __import__("random").Random(42)
    paths, parts, whole = [], [], hashlib.sha256()
    for i, size in enumerate(sizes, start=1):
        data = bytes(rng.getrandbits(8) for _ in range(size))
        path = tmp / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
        parts.append(Part(f"fake-model-part{i}", size, hashlib.sha256(data).hexdigest()))
        whole.update(data)
    asset = AssembledAsset(
        "fake", "fake.gguf", tuple(parts), sum(sizes), whole.hexdigest(), "MIT", "fake model"
    )
    return asset, paths


def test_good_parts_assemble_and_verify(tmp_path):
    asset, paths = make_parts(tmp_path)
    target = assemble(asset, tmp_path / "cache", part_paths=paths)
    assert target.read_bytes() == b"".join(p.read_bytes() for p in paths)
    verify_file(asset, target)
    # Second call returns at once from the stamp, without reading the parts.
    for p in paths:
        p.unlink()
    assert assemble(asset, tmp_path / "cache", part_paths=paths) == target


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda ps: flip_byte(ps[1], 10), "fake-model-part2 .* fails its sha256"),
        (lambda ps: ps[2].write_bytes(ps[2].read_bytes()[:-1]), r"fake-model-part3 .*\(short\)"),
        (
            lambda ps: ps[0].write_bytes(ps[0].read_bytes() + b"x"),
            r"fake-model-part1 .*\(too long\)",
        ),
        (lambda ps: ps[1].unlink(), "fake-model-part2 is missing"),
    ],
)
def test_damaged_parts_are_refused_by_name(tmp_path, damage, needle):
    asset, paths = make_parts(tmp_path)
    damage(paths)
    cache = tmp_path / "cache"
    with pytest.raises(AssetError, match=needle):
        assemble(asset, cache, part_paths=paths)
    # Nothing half-written is left where a loader would pick it up.
    assert not (cache / asset.filename).exists()
    assert not [p for p in cache.iterdir() if p.suffix == ".part"]


def test_whole_file_checksum_is_enforced(tmp_path):
    asset, paths = make_parts(tmp_path)
    wrong = AssembledAsset(asset.name, asset.filename, asset.parts, asset.size, "0" * 64, "", "")
    with pytest.raises(AssetError, match="Refusing it"):
        assemble(wrong, tmp_path / "cache", part_paths=paths)


def test_tampered_file_after_assembly_fails_verify(tmp_path):
    asset, paths = make_parts(tmp_path)
    target = assemble(asset, tmp_path / "cache", part_paths=paths)
    flip_byte(target, 5)
    with pytest.raises(AssetError, match="sha256"):
        verify_file(asset, target)
    # The stamp is gone, so the next use re-assembles a good file instead of trusting it.
    again = assemble(asset, tmp_path / "cache", part_paths=paths)
    assert again.read_bytes() == b"".join(p.read_bytes() for p in paths)
    verify_file(asset, again)


def test_missing_part_package_names_the_package():
    with pytest.raises(AssetError, match="no-such-model-part7 is not installed"):
        assets.part_path("no-such-model-part7")


def _assemble_in_child(args):
    asset, cache, paths = args
    return str(assemble(asset, cache, part_paths=paths))


def test_concurrent_assembly_is_safe(tmp_path):
    asset, paths = make_parts(tmp_path, sizes=(2_000_000, 2_000_000, 123_457))
    cache = tmp_path / "cache"
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_assemble_in_child, [(asset, cache, paths)] * 4)
    assert len(set(results)) == 1
    verify_file(asset, Path(results[0]))
    leftovers = [p.name for p in cache.iterdir() if p.name.endswith(".part")]
    assert leftovers == []


def test_real_default_chat_model(tmp_path):
    """The real Qwen GGUF from the 22 installed part packages, with the official hash."""
    path = assets.asset_path(assets.DEFAULT_CHAT)  # the configured cache: assembled once
    assert path.stat().st_size == 1_117_320_768
    verify_file(assets.QWEN_DEFAULT, path)
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"


def test_embedders_are_shipped():
    e5 = assets.asset_path(assets.DEFAULT_EMBEDDER)
    assert e5.is_file() and e5.stat().st_size > 10_000_000
    minilm = assets.asset_path(assets.TEST_ST_MODEL)
    assert (minilm / "model.safetensors").is_file()


def test_unknown_asset_name():
    with pytest.raises(AssetError, match="Unknown model asset 'qwen3'"):
        assets.asset_path("qwen3")


def test_list_assets_reports_status(tmp_path):
    rows = {r.name: r for r in assets.list_assets(tmp_path)}
    assert rows[assets.DEFAULT_CHAT].status.startswith("parts installed")
    assert rows[assets.DEFAULT_EMBEDDER].status == "ready"
    assert os.path.isabs(rows[assets.TEST_ST_MODEL].path)
