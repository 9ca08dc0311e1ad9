"""Test harnesses kvcore ships for plugin authors (``engine_conformance``)."""
