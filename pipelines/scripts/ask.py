"""Ingest a folder and answer one Japanese question with citations, through the SDK.

    python pipelines/scripts/ask.py --config pipelines/embedded.toml --kb kb corpora/sample "質問"

The same steps as ``jpagent ingest`` + ``jpagent ask``, in the form a company tool embeds.
"""

from __future__ import annotations

import argparse
import sys

import jpagent
from jpagent.config import load_config
from jpagent.errors import JpagentError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a pipelines/*.toml file")
    parser.add_argument("--kb", default=None, help="knowledge base folder (default: kb.path)")
    parser.add_argument("folder", help="documents to ingest (unchanged files are skipped)")
    parser.add_argument("question")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        kb = jpagent.open(args.kb or config.kb.path, config=config)
        report = kb.ingest([args.folder])
        for failed in report.failed:
            print(f"skipped: {failed}", file=sys.stderr)
        answer = kb.ask(args.question)
    except JpagentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(answer.text)
    for cite in answer.citations:
        page = f" p.{cite.page}" if cite.page else ""
        how = " (matched by text)" if cite.inferred else ""
        print(f"[{cite.number}] {cite.source}{page} ({cite.start}-{cite.end}){how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
