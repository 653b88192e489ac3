"""The real embedded model, in-process and served, from the chat backend tests."""

from tests.llm.conftest import gguf, llama_server, local_llm  # noqa: F401
