"""Scoring articles: the Scorer, sentence segmentation, evidence words, reports and the article profile.

May import: redflags.core and the leaves. Never imports corpus, cli, training or eval.
"""
