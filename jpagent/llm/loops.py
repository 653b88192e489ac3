"""Spot a model's runaway loop in its output as it streams.

Small models decoding greedily sometimes fall into a loop and repeat one piece until the token
limit (``第2条（精算の期限）の第2条（精算の期限）の…``: seen with the embedded 1.5B model and six
sources, jpagent/rag/README.md). :func:`repeated_tail` finds such a loop at the end of a text;
:class:`LoopGuard` applies it to text arriving in deltas, so that the caller can stop the
generation at once instead of waiting for ``max_tokens``, and keep the text up to the end of the
first copy.

What counts as a loop: the end of the text is one piece (the *unit*) repeated back to back at
least ``min_repeats`` times and over at least ``min_chars`` characters. A unit of a single
character repeated (``ーーーー``, ``……``, ``=====`` rules, indentation) is never a loop: such runs
are ordinary text. With the defaults a short unit must repeat more often (11 characters: six
times) than a long one (30 characters: three times).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Loop", "LoopGuard", "repeated_tail"]

MIN_REPEATS = 3
"""Copies of the unit, back to back, that make a loop."""
MIN_CHARS = 64
"""Characters the copies must cover together (short units need more copies)."""
MAX_UNIT = 256
"""The longest unit looked for, in characters."""


class Loop(NamedTuple):
    """A loop at the end of a text: the repeated ``unit`` as it first appeared, how many whole
    copies of it follow one another, and ``cut``, the index just after the first copy
    (``text[:cut]`` keeps the text before the loop and one copy)."""

    unit: str
    repeats: int
    cut: int


def repeated_tail(
    text: str,
    *,
    min_repeats: int = MIN_REPEATS,
    min_chars: int = MIN_CHARS,
    max_unit: int = MAX_UNIT,
) -> Loop | None:
    """The loop the end of ``text`` is caught in, or ``None``.

    The shortest unit that qualifies wins, so ``ABABAB…`` is reported with unit ``AB``. The
    loop is traced back to where the repetition began, so a text that stops mid-copy
    (``xABCABCABCAB``) still has unit ``ABC`` and keeps ``xABC``.
    """
    n = len(text)
    last = text[-1:] or "\0"
    for size in range(2, min(max_unit, n // min_repeats) + 1):
        if text[n - 1 - size] != last:  # cheap test before slicing
            continue
        unit = text[n - size :]
        if unit.count(unit[0]) == size:  # one character repeated: a run, not a loop
            continue
        need = max(min_repeats, -(-min_chars // size))
        start = n - need * size
        if start < 0 or text[start:] != unit * need:
            continue
        while start >= size and text[start - size : start] == text[start : start + size]:
            start -= size  # back over earlier whole copies
        while start > 0 and text[start - 1] == text[start - 1 + size]:
            start -= 1  # and to where the repetition began, mid-copy
        return Loop(text[start : start + size], (n - start) // size, start + size)
    return None


class LoopGuard:
    """:func:`repeated_tail` over text that arrives in deltas.

    ``feed(delta)`` returns the :class:`Loop` once the text fed so far ends in one (its ``cut``
    counts from the start of everything fed), else ``None``. Only the last ``window`` characters
    are kept and searched, so a long answer costs no more per delta than a short one.
    """

    def __init__(
        self,
        *,
        min_repeats: int = MIN_REPEATS,
        min_chars: int = MIN_CHARS,
        max_unit: int = MAX_UNIT,
    ) -> None:
        self._params = {"min_repeats": min_repeats, "min_chars": min_chars, "max_unit": max_unit}
        self._window = 2 * max(max_unit * min_repeats, min_chars)
        self._tail = ""
        self._dropped = 0  # characters fed before the tail
        self.loop: Loop | None = None

    def feed(self, delta: str) -> Loop | None:
        if self.loop is not None or not delta:
            return self.loop
        text = self._tail + delta  # searched whole: a big delta may hold a long loop
        found = repeated_tail(text, **self._params)
        if found is not None:
            self.loop = found._replace(cut=self._dropped + found.cut)
        if len(text) > self._window:
            self._dropped += len(text) - self._window
            text = text[-self._window :]
        self._tail = text
        return self.loop
