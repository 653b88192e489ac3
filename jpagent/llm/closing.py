"""Close llama.cpp models while the interpreter still works (an ``atexit`` hook).

llama-cpp-python frees a model in ``Llama.__del__``; at interpreter exit that can run after the
module globals it calls are gone and print ``TypeError: 'NoneType' object is not callable``.
Every ``Llama`` jpagent creates goes through :func:`close_at_exit`, which keeps a weak
reference and closes what is still alive when the process ends.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Any, TypeVar

T = TypeVar("T")

_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()


def close_at_exit(llm: T) -> T:
    """Register ``llm`` (anything with ``close()``) to be closed at exit; returns it."""
    _LIVE.add(llm)
    return llm


@atexit.register
def _close_all() -> None:
    for llm in list(_LIVE):
        try:
            llm.close()
        except Exception:  # best effort at exit: nothing is left to report to
            pass
