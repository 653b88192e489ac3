"""Prompt templates of the retrieval stage (data files, read with ``importlib.resources``)."""
