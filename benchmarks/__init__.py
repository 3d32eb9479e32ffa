"""resourcekit's benchmark suite: the same small API in resourcekit, raw WSGI and its peers.

Run ``python -m benchmarks --help`` from the repository root; ``benchmarks/README.md`` explains
what each scenario measures and how to read the ratios.
"""
