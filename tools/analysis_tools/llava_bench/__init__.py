"""Benchmark llava_mm against transformers' LLaVA (docs/benchmark.md)."""
