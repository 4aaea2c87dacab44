"""Judging a model: the digit classifiers, the metrics, `eval` and its report."""
