"""Scoring a whole corpus into Parquet tables: inputs, shards, the local engine and the Ray engine.

May import: redflags.scoring, redflags.core and the leaves. Never imports cli, training or eval.
"""
