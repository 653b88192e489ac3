"""The Japanese text layer: normalisation, sentences, morphology, token counts, chunks.

Everything here is a plain function or a small frozen config; MeCab, llama.cpp, tokenizers and
sentencepiece are imported only when first used.
"""

from jpagent.text.chunk import ChunkConfig, chunk_document, chunk_text, markdown_headings
from jpagent.text.morph import (
    DEFAULT_DROP_POS,
    Analyzer,
    AnalyzerConfig,
    Token,
    token_spans,
    tokenize,
)
from jpagent.text.normalize import NormalizeConfig, Normalized, normalize, normalize_text
from jpagent.text.sentences import Sentence, split_sentences
from jpagent.text.tokens import (
    EstimateCounter,
    TokenCounter,
    TokenStats,
    chars_per_token,
    get_token_counter,
)
from jpagent.text.userdict import compile_user_dict, read_user_dict

__all__ = [
    "DEFAULT_DROP_POS",
    "Analyzer",
    "AnalyzerConfig",
    "ChunkConfig",
    "EstimateCounter",
    "NormalizeConfig",
    "Normalized",
    "Sentence",
    "Token",
    "TokenCounter",
    "TokenStats",
    "chars_per_token",
    "chunk_document",
    "chunk_text",
    "compile_user_dict",
    "get_token_counter",
    "markdown_headings",
    "normalize",
    "normalize_text",
    "read_user_dict",
    "split_sentences",
    "token_spans",
    "tokenize",
]
