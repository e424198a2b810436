"""The model itself: encoder, tokenizer, model directory, loading, the one inference function, precision.

May import: the leaves (redflags.markers, redflags.atomic, redflags.extras) and third-party libraries.
Never imports scoring, corpus, cli, training or eval (import-linter contracts in pyproject.toml).
"""
