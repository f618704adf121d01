"""End-to-end benchmarks of the knowledge-base service: import, indexing, HTTP search, freshness, baseline.

Run ``python -m bench --help``. Nothing here is imported by the product packages.
"""
