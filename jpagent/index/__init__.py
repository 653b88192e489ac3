"""The knowledge base: Chroma vectors, a Japanese BM25 index and the SQLite store that owns both.

>>> from jpagent.index import KnowledgeBase
>>> kb = KnowledgeBase.open("kb")              # doctest: +SKIP
>>> print(kb.ingest(["docs/"]).summary())      # doctest: +SKIP

See :mod:`jpagent.index.kb` for the folder layout and :mod:`jpagent.index.ingest` for how an
ingest stays correct when it is killed.
"""

from __future__ import annotations

from jpagent.index.ingest import IngestReport
from jpagent.index.kb import KnowledgeBase
from jpagent.index.lock import KBLockedError
from jpagent.index.manifest import KBMismatchError

__all__ = ["IngestReport", "KBLockedError", "KBMismatchError", "KnowledgeBase"]
