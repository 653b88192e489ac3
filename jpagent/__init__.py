"""jpagent — Japanese-first RAG and agents on local models.

日本語ファーストの RAG・エージェント基盤。Importing this package has no side effects.
"""

__version__ = "0.1.0"
