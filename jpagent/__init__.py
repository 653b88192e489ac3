"""jpagent — Japanese-first RAG and agents on local models.

日本語ファーストの RAG・エージェント基盤。Importing this package has no side effects and loads
nothing heavy: ``jpagent.open`` imports the index and retrieval stages on first use.

>>> import jpagent
>>> kb = jpagent.open("kb")                 # doctest: +SKIP
>>> kb.ingest(["corpora/sample"])           # doctest: +SKIP
>>> kb.ask("始業時刻は何時ですか？").text     # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "open"]


def open(path: Any = None, **kwargs: Any) -> Any:
    """Open (or create) a knowledge base folder; see :func:`jpagent.sdk.open`."""
    from jpagent.sdk import open as _open

    return _open(path, **kwargs)
