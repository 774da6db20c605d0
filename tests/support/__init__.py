"""What the test suite and the benchmarks share: credentials, apps, databases, waiting.

Importable as ``tests.support`` from the repository root (pytest and
``python -m bench`` both run from there).
"""
