"""``jpagent version``, ``jpagent config …`` and ``jpagent models …``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from jpagent import __version__
from jpagent.cli.common import (
    JsonFlag,
    app,
    bytes_progress,
    get_config,
    out,
    print_json,
    table,
)
from jpagent.errors import JpagentError

models_app = typer.Typer(help="Embedded model assets and model profiles.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(config_app, name="config")


# ------------------------------------------------------------------------------ version


@app.command()
def version(json_out: JsonFlag = False) -> None:
    """Print the jpagent version."""
    if json_out:
        print_json({"version": __version__})
    else:
        out.print(f"jpagent {__version__}")


# ------------------------------------------------------------------------------- config


@config_app.command("show")
def config_show(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Print every setting, its value and where it came from (default, file, env, flag)."""
    cfg = get_config(ctx)
    rows = cfg.rows()
    if json_out:
        print_json({"settings": rows})
    else:
        table(rows, ["key", "value", "source"], "jpagent config")


# ------------------------------------------------------------------------------- models


@models_app.command("list")
def models_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List the embedded model assets and their status."""
    from jpagent.assets import list_assets

    rows = [asdict(a) for a in list_assets(get_config(ctx).models.cache_dir)]
    if json_out:
        print_json({"models": rows})
    else:
        table(rows, ["name", "kind", "spec", "status", "size", "path"], "embedded models")


@models_app.command("path")
def models_path(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="asset name, e.g. qwen2.5-coder-1.5b-instruct-q4_k_m")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Print the path of an embedded model (assembling and verifying it if needed)."""
    from jpagent import assets

    cache_dir = get_config(ctx).models.cache_dir
    if name == assets.DEFAULT_CHAT:
        with bytes_progress(assets.QWEN_DEFAULT.size, "assembling") as bar:
            task = bar.add_task("assemble", total=assets.QWEN_DEFAULT.size)
            path = assets.asset_path(name, cache_dir, lambda n: bar.advance(task, n))
    else:
        path = assets.asset_path(name, cache_dir)
    if json_out:
        print_json({"name": name, "path": str(path)})
    else:
        out.print(str(path), highlight=False)


@models_app.command("verify")
def models_verify(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Assemble the default chat model if needed and re-hash every embedded asset."""
    from jpagent import assets

    cache_dir = get_config(ctx).models.cache_dir
    results = []
    size = assets.QWEN_DEFAULT.size
    with bytes_progress(size, "verifying") as bar:
        task = bar.add_task("verify", total=size)
        path = assets.asset_path(assets.DEFAULT_CHAT, cache_dir, lambda n: bar.advance(task, n))
        bar.reset(task, total=size)
        assets.verify_file(assets.QWEN_DEFAULT, path, lambda n: bar.advance(task, n))
    results.append(
        {
            "name": assets.DEFAULT_CHAT,
            "path": str(path),
            "ok": True,
            "sha256": assets.QWEN_DEFAULT.sha256,
        }
    )
    for name in (assets.DEFAULT_EMBEDDER, assets.TEST_ST_MODEL):
        p = assets.asset_path(name)
        results.append({"name": name, "path": str(p), "ok": p.exists(), "sha256": ""})
    bad = [r for r in results if not r["ok"]]
    if json_out:
        print_json({"models": results, "ok": not bad})
    else:
        for r in results:
            mark = "[green]ok[/]" if r["ok"] else "[red]MISSING[/]"
            out.print(f"{mark}  {r['name']}  {r['path']}")
    if bad:
        raise JpagentError(
            "Missing model files: " + ", ".join(r["name"] for r in bad),
            "モデルファイルが見つかりません。",
        )


@models_app.command("recommend")
def models_recommend(
    vram: Annotated[float, typer.Option("--vram", help="GPU memory in GiB (0 for CPU only)")],
    ram: Annotated[
        float | None,
        typer.Option("--ram", help="RAM in GiB the model may use for CPU offload (not the total)"),
    ] = None,
    quant: Annotated[
        str | None, typer.Option("--quant", help="only this quantization, e.g. Q4_K_M")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List the model profiles that fit this machine, Japanese-capable first."""
    from jpagent.llm.profiles import recommend, recommendation_rows

    rows = recommendation_rows(recommend(vram, ram, quant))
    if json_out:
        print_json({"vram_gib": vram, "ram_gib": ram, "quant": quant, "recommendations": rows})
    elif not rows:
        out.print("No profile fits. / 条件に合うモデルがありません。")
    else:
        columns = ["model", "quant", "memory_gib", "placement", "japanese", "context", "ollama"]
        table(
            rows, columns, f"models for {vram:g} GiB VRAM" + (f" + {ram:g} GiB RAM" if ram else "")
        )
