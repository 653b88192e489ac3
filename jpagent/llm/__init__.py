"""Chat model backends and model profiles.

>>> from jpagent.llm import get_chat_model, ChatOptions
>>> from jpagent.types import Message
>>> model = get_chat_model("llamacpp:default")                       # doctest: +SKIP
>>> model.chat([Message("user", "日本の首都は？")], options=ChatOptions(max_tokens=16)).text
... # doctest: +SKIP

Backends (``llamacpp:``, ``openai:``, ``ollama:``) are imported only when their spec is used;
model profiles live in :mod:`jpagent.llm.profiles`.
"""

from jpagent.llm.base import ChatDelta, ChatModel, ChatOptions, ChatResult, ToolCall, Usage
from jpagent.llm.registry import chat_model_from_config, get_chat_model

__all__ = [
    "ChatDelta",
    "ChatModel",
    "ChatOptions",
    "ChatResult",
    "ToolCall",
    "Usage",
    "chat_model_from_config",
    "get_chat_model",
]
