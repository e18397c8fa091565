"""Helpers shared by the tests (importable as `support.*`: pyproject puts tests/ on the path).

Test modules import from here and from `conftest` only, never from each other.
"""
