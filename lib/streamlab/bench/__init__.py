"""Benchmarks: `streamlab bench api|load|esm|pipeline`, and how their results are judged."""
