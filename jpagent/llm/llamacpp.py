"""``llamacpp:`` — a GGUF model run in this process by llama-cpp-python.

``llamacpp:default`` is the embedded Qwen2.5-Coder-1.5B-Instruct Q4_K_M (assembled and verified
by :mod:`jpagent.assets`); ``llamacpp:/path/model.gguf`` any local GGUF. Prompts are formatted
with the chat template stored in the GGUF (llama-cpp-python's ``create_chat_completion``).

Process cache: loading a GGUF takes seconds and a gigabyte, so :func:`load_llama` keeps one
``Llama`` per ``(path, n_ctx, n_threads)`` for the life of the process, behind a lock. Every
:class:`LlamaCppChat` on the same key shares it; a ``Llama`` is not thread-safe, so each request
holds the entry's :class:`ModelLock` while it generates (a stream holds it until consumed or
closed; other threads wait, while the same thread gets an error instead of a deadlock).
:func:`unload_all` empties the cache.

``n_threads`` (decode threads) defaults to the physical cores this process may use
(:func:`jpagent.llm.cpus.default_threads`). llama.cpp's threads wait on each other, so on a
machine busy with other work fewer threads do better (measured once on a loaded 2-vCPU machine:
2 threads 15-43 s, 1 thread 1.7-21 s for a 42-token prompt and 7 tokens): set ``n_threads``
(``llm.n_threads``) there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jpagent.errors import ModelError
from jpagent.llm.base import ChatOptions, ChatResult, ToolCall, Usage, messages_to_dicts
from jpagent.llm.closing import close_at_exit
from jpagent.llm.cpus import default_threads
from jpagent.llm.reasoning import ReasoningSplitter
from jpagent.llm.stream import ChatStream, Event
from jpagent.types import Message

log = logging.getLogger(__name__)

#: Context length used when none is given: enough for RAG over a few chunks, small KV cache.
DEFAULT_N_CTX = 4096


class ModelLock:
    """Serialises requests to one model. A thread that asks while it still holds the lock (an
    earlier stream left half-read) gets a :class:`ModelError` rather than a deadlock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def __enter__(self) -> ModelLock:
        if self._owner == threading.get_ident():
            raise ModelError(
                "This thread still has an unfinished stream from the same in-process model.",
                "同じモデルの未完了のストリームがこのスレッドに残っています。",
                hint="read the earlier stream to the end or call its close() before a new request",
            )
        self._lock.acquire()
        self._owner = threading.get_ident()
        return self

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


@dataclass(frozen=True)
class LoadedLlama:
    """A loaded model and the lock that serialises requests to it."""

    llm: Any  # llama_cpp.Llama
    lock: ModelLock
    path: Path
    n_ctx: int
    n_threads: int


_CACHE: dict[tuple[str, int, int], LoadedLlama] = {}
_CACHE_LOCK = threading.Lock()


def default_gguf() -> Path:
    """Path of the embedded default chat model, assembling and verifying it on first use."""
    from jpagent.assets import DEFAULT_CHAT, asset_path

    return asset_path(DEFAULT_CHAT)


def resolve_path(name: str) -> Path:
    """``default`` or a GGUF path (``~`` expanded) → the file; :class:`ModelError` if absent."""
    if name == "default":
        return default_gguf()
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelError(
            f"GGUF model file not found: {path}",
            f"GGUF モデルファイルが見つかりません: {path}",
            hint="check the path in the llamacpp: spec, or use llamacpp:default "
            "(the embedded Qwen2.5-Coder-1.5B-Instruct)",
        )
    return path


def load_llama(path: Path, n_ctx: int | None = None, n_threads: int | None = None) -> LoadedLlama:
    """The process-wide ``Llama`` for ``(path, n_ctx, n_threads)``, loading it once."""
    n_ctx = n_ctx or DEFAULT_N_CTX
    n_threads = n_threads or default_threads()
    key = (str(Path(path).resolve()), n_ctx, n_threads)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is None:
            loaded = _load(Path(key[0]), n_ctx, n_threads)
            _CACHE[key] = loaded
        return loaded


def _load(path: Path, n_ctx: int, n_threads: int) -> LoadedLlama:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ModelError(
            "llama-cpp-python is not installed, so llamacpp: models cannot run.",
            "llama-cpp-python がインストールされていないため llamacpp: モデルを実行できません。",
            hint="pip install 'jpagent[llamacpp]' (or run `make setup`)",
        ) from None
    if not path.is_file():
        raise ModelError(f"GGUF model file not found: {path}", f"GGUF がありません: {path}")
    t0 = time.perf_counter()
    try:
        llm = close_at_exit(
            Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        )
    except (ValueError, RuntimeError) as exc:
        raise ModelError(
            f"llama.cpp could not load {path}: {exc}",
            f"llama.cpp が {path} を読み込めませんでした。",
            hint="is it a complete GGUF file this llama-cpp-python version supports?",
        ) from exc
    arch = llm.metadata.get("general.architecture", "")
    trained = int(llm.metadata.get(f"{arch}.context_length", 0) or 0)
    if trained and n_ctx > trained:
        log.warning("n_ctx %d exceeds %s's trained context %d", n_ctx, path.name, trained)
    log.info(
        "loaded %s (n_ctx=%d, threads=%d) in %.1fs",
        path,
        n_ctx,
        n_threads,
        time.perf_counter() - t0,
    )
    return LoadedLlama(llm, ModelLock(), path, n_ctx, n_threads)


def unload_all() -> None:
    """Forget every cached model (they are freed when no chat object holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class _Deadline:
    """A logits processor that forces end-of-sequence once a wall-clock deadline passes."""

    def __init__(self, seconds: float, eos: int) -> None:
        self.deadline = time.perf_counter() + seconds
        self.eos = eos
        self.hit = False

    def __call__(self, input_ids, scores):
        if time.perf_counter() > self.deadline:
            self.hit = True
            scores[:] = -float("inf")
            scores[self.eos] = 0.0
        return scores


class LlamaCppChat:
    """Chat with a GGUF in-process. ``timeout`` applies only when a request sets
    :attr:`ChatOptions.timeout`: in-process generation has no default time limit."""

    def __init__(
        self,
        path: str = "default",
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        reasoning: str = "auto",
        name: str = "",
    ) -> None:
        self.name = name or f"llamacpp:{path}"
        self.reasoning = reasoning
        self._loaded = load_llama(resolve_path(path), n_ctx, n_threads)

    @property
    def context_window(self) -> int:
        """Tokens the loaded context holds (``n_ctx``)."""
        return int(self._loaded.llm.n_ctx())

    def count_tokens(self, text: str) -> int:
        """Exact count with the model's own tokenizer (no BOS)."""
        return len(self._loaded.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def chat(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> ChatResult:
        """One whole answer (``create_chat_completion`` without streaming)."""
        opts = options or ChatOptions()
        t0 = time.perf_counter()
        kwargs, deadline = self._kwargs(opts)
        with self._loaded.lock:
            resp = self._loaded.llm.create_chat_completion(
                messages=messages_to_dicts(messages), stream=False, **kwargs
            )
        if deadline and deadline.hit:
            raise self._timeout_error(opts, resp["usage"]["completion_tokens"])
        choice = resp["choices"][0]
        msg = choice["message"]
        events: list[Event] = [Event("content", msg.get("content") or "")]
        events += [Event("tool_call", tool_call=_tool(tc)) for tc in msg.get("tool_calls") or ()]
        u = resp.get("usage") or {}
        usage = Usage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0))
        events.append(Event("end", usage=usage, finish_reason=choice.get("finish_reason") or ""))
        return ChatStream(
            events,
            ReasoningSplitter(opts.reasoning or self.reasoning),
            usage_fallback=lambda raw: usage,
            streaming=False,
            started=t0,
        ).final()

    def stream(
        self, messages: Sequence[Message], *, options: ChatOptions | None = None
    ) -> ChatStream:
        """Stream deltas as llama.cpp produces tokens; ``final()`` gives the result."""
        opts = options or ChatOptions()
        t0 = time.perf_counter()
        dicts = messages_to_dicts(messages)
        return ChatStream(
            self._events(dicts, opts),
            ReasoningSplitter(opts.reasoning or self.reasoning),
            usage_fallback=lambda raw: self._counted_usage(dicts, opts, raw),
            started=t0,
        )

    # ------------------------------------------------------------------ internals

    def _kwargs(self, opts: ChatOptions) -> tuple[dict[str, Any], _Deadline | None]:
        kw: dict[str, Any] = {}
        for key in ("temperature", "top_p", "top_k", "max_tokens", "seed"):
            value = getattr(opts, key)
            if value is not None:
                kw[key] = value
        if opts.stop:
            kw["stop"] = list(opts.stop)
        if opts.tools:
            kw["tools"] = [dict(t) for t in opts.tools]
        deadline = None
        if opts.timeout is not None:
            deadline = _Deadline(opts.timeout, self._loaded.llm.token_eos())
            kw["logits_processor"] = [deadline]
        return kw, deadline

    def _events(self, dicts: list[dict[str, str]], opts: ChatOptions) -> Iterator[Event]:
        kwargs, deadline = self._kwargs(opts)
        with self._loaded.lock:
            chunks = self._loaded.llm.create_chat_completion(messages=dicts, stream=True, **kwargs)
            n = 0
            finish = ""
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        n += 1
                        yield Event("content", delta["content"])
                    for tc in delta.get("tool_calls") or ():
                        yield Event("tool_call", tool_call=_tool(tc))
                    finish = choice.get("finish_reason") or finish
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        if deadline and deadline.hit:
            raise self._timeout_error(opts, n)
        yield Event("end", usage=None, finish_reason=finish)

    def _counted_usage(self, dicts: list[dict[str, str]], opts: ChatOptions, raw: str) -> Usage:
        """Usage for a stream (llama-cpp-python reports none): the prompt rendered with the
        GGUF's chat template and the generated text, both tokenised."""
        llm = self._loaded.llm
        prompt_tokens = 0
        template = llm.metadata.get("tokenizer.chat_template")
        if template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos, bos = llm.token_eos(), llm.token_bos()
            formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            )
            tools = [dict(t) for t in opts.tools] or None
            result = formatter(messages=dicts, tools=tools)
            prompt_tokens = len(
                llm.tokenize(
                    result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
                )
            )
        else:
            prompt_tokens = sum(self.count_tokens(d["content"]) for d in dicts)
        return Usage(prompt_tokens, self.count_tokens(raw) if raw else 0, estimated=True)

    def _timeout_error(self, opts: ChatOptions, produced: int) -> ModelError:
        return ModelError(
            f"{self.name}: generation passed the {opts.timeout:g} s time limit after "
            f"{produced} tokens and was stopped.",
            f"{self.name}: 生成が制限時間 {opts.timeout:g} 秒を超えたため停止しました。",
            hint="raise ChatOptions.timeout, lower max_tokens, or shorten the prompt",
        )


def _tool(tc: dict[str, Any]) -> ToolCall:
    fn = tc.get("function") or {}
    return ToolCall(tc.get("id") or "", fn.get("name") or "", fn.get("arguments") or "")
