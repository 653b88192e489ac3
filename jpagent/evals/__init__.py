"""Evaluations: retrieval on JSQuAD (``retrieval``), QA, Japanese MT-Bench.

Each eval module is imported on its own (``from jpagent.evals.retrieval import
run_retrieval_eval``); importing this package loads nothing else.
"""
