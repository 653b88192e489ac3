"""A :class:`~jpagent.retrieve.rerank.YesNoScorer` on llama.cpp (``llama-cpp-python``).

It renders the chat messages with the GGUF's own chat template, evaluates the prompt, and reads
the log-probabilities of the first answer token: ``P(yes) / (P(yes) + P(no))`` where P(yes)
sums the first tokens of はい/Yes/yes and P(no) those of いいえ/No/no (a first token shared by
both sides is dropped). No token is sampled. The KV cache of the previous prompt is reused for
the common prefix, so one query's candidates pay for the system prompt and question once.

Measured with the embedded Qwen2.5-Coder-1.5B Q4_K_M on 2 shared cores: about 1.3–2 s per
JSQuAD paragraph after the first (which also pays for the shared prefix, ~7 s).
``llama_cpp`` is imported when the scorer is built, not when this module is imported.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jpagent.errors import ConfigError
from jpagent.llm.closing import close_at_exit
from jpagent.llm.cpus import default_threads
from jpagent.types import Message


@dataclass(frozen=True)
class LlamaCppScorerConfig:
    """Settings of :class:`LlamaCppYesNoScorer`."""

    #: Context size in tokens (system prompt + question + passage must fit).
    n_ctx: int = 2048
    #: Decode threads; ``None``: the physical cores in reach, as the llama.cpp chat backend
    #: (:func:`jpagent.llm.cpus.default_threads`; fewer on a machine busy with other work).
    n_threads: int | None = None
    #: Prompt tokens evaluated per llama.cpp batch.
    n_batch: int = 512
    #: Words whose first token counts as "yes".
    yes_words: tuple[str, ...] = ("はい", "Yes", "yes", "YES")
    #: Words whose first token counts as "no".
    no_words: tuple[str, ...] = ("いいえ", "No", "no", "NO")


class LlamaCppYesNoScorer:
    """Yes/no judge on a local GGUF. ``model_path`` ``None``: the embedded default chat model."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        config: LlamaCppScorerConfig = LlamaCppScorerConfig(),
    ) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ConfigError(
                "The LLM reranker's llama.cpp backend needs llama-cpp-python.",
                message_ja="LLM リランカーの llama.cpp バックエンドには llama-cpp-python が必要です。",
                hint="pip install 'jpagent[llamacpp]'",
            ) from exc
        if model_path is None:
            from jpagent.assets import DEFAULT_CHAT, asset_path

            model_path = asset_path(DEFAULT_CHAT)
        path = Path(model_path)
        if not path.is_file():
            raise ConfigError(
                f"GGUF model file not found: {path}.",
                message_ja=f"GGUF モデルファイルが見つかりません: {path}",
                hint="Give the path of a local .gguf chat model, or omit it for the embedded default.",
            )
        self.config = config
        self.name = f"llamacpp:{path}"
        self._llm = close_at_exit(
            Llama(
                str(path),
                n_ctx=config.n_ctx,
                n_threads=config.n_threads or default_threads(),
                n_batch=config.n_batch,
                verbose=False,
            )
        )
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(
                f"{path.name} carries no chat template (tokenizer.chat_template).",
                message_ja=f"{path.name} にチャットテンプレートがありません。",
                hint="Use an instruct/chat GGUF.",
            )
        eos = self._llm.detokenize([self._llm.token_eos()]).decode("utf-8", "ignore")
        self._format = Jinja2ChatFormatter(template, eos_token=eos, bos_token="")
        yes = {self._first_token(w) for w in config.yes_words}
        no = {self._first_token(w) for w in config.no_words}
        self.yes_ids = np.array(sorted(yes - no), dtype=np.int64)
        self.no_ids = np.array(sorted(no - yes), dtype=np.int64)
        self._lock = threading.Lock()

    def _first_token(self, word: str) -> int:
        return int(self._llm.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0])

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The chat-templated prompt (ending where the assistant's answer starts) as tokens."""
        rendered = self._format(messages=[{"role": m.role, "content": m.content} for m in messages])
        tokens = self._llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= self.config.n_ctx:
            raise ConfigError(
                f"Rerank prompt of {len(tokens)} tokens does not fit n_ctx={self.config.n_ctx}.",
                message_ja=f"リランク用プロンプト（{len(tokens)} トークン）が n_ctx={self.config.n_ctx} に収まりません。",
                hint="Lower LLMRerankConfig.max_passage_chars or raise LlamaCppScorerConfig.n_ctx.",
            )
        return tokens

    def next_token_logprobs(self, messages: Sequence[Message]) -> np.ndarray:
        """Log-probabilities over the vocabulary of the first answer token."""
        from llama_cpp import llama_cpp

        tokens = self.prompt_tokens(messages)
        with self._lock:
            llm = self._llm
            cached = llm.input_ids[: llm.n_tokens]
            keep = 0
            for a, b in zip(cached, tokens, strict=False):
                if a != b:
                    break
                keep += 1
            llm.n_tokens = min(keep, len(tokens) - 1)  # evaluate at least the last token
            llm.eval(tokens[llm.n_tokens :])
            ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float64)
        logits -= logits.max()
        return logits - np.log(np.exp(logits).sum())

    def yes_probability(self, messages: Sequence[Message]) -> float:
        """``P(yes) / (P(yes) + P(no))`` on the first answer token."""
        lp = self.next_token_logprobs(messages)
        p_yes = float(np.exp(lp[self.yes_ids]).sum())
        p_no = float(np.exp(lp[self.no_ids]).sum())
        total = p_yes + p_no
        return 0.5 if total <= 0.0 else p_yes / total

    def close(self) -> None:
        """Free the model now rather than at garbage collection."""
        llm: Any = self._llm
        if hasattr(llm, "close"):
            llm.close()
