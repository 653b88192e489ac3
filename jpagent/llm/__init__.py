"""Chat model backends and model profiles (see :mod:`jpagent.llm.profiles`).

Kept free of imports so that ``import jpagent.llm`` stays cheap; import the submodules you need.
"""
