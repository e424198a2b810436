"""Baselines on tiny hand-written data: lexicon hits, a separable toy for TF-IDF + LR, majority class."""

from __future__ import annotations

import numpy as np
import pytest
from redflags.eval.baselines import (
    LexiconBaseline,
    MajorityBaseline,
    TfidfLogRegBaseline,
)
from redflags.eval.interchange import Example
from redflags.markers import MARKERS

U, H, S = MARKERS


def ex(i: int, text: str, **labels: int | None) -> Example:
    return Example(str(i), text, {m: labels.get(m) for m in MARKERS}, "toy", f"d{i}")


def test_lexicon_flags_sentences_with_list_words() -> None:
    lex = LexiconBaseline({U: ["sources said", "people familiar with"], H: ["suggest", "may"], S: ["shocking"]})
    texts = ["Sources  said the deal was off.", "The data suggests a link.", "A SHOCKING twist!",
             "The minister said nothing.", "Mayor Smith spoke."]
    p = lex.predict_proba(texts)
    flags = p >= np.array([lex.thresholds[m] for m in MARKERS])
    assert flags.tolist() == [[True, False, False], [False, True, False], [False, False, True],
                              [False, False, False], [False, False, False]]  # "Mayor" is not "may"
    assert lex.predict_proba(["It may, people familiar with it said, be shocking; it may not."])[0, 1] == 0.75


def test_lexicon_without_a_list_scores_zero() -> None:
    lex = LexiconBaseline({U: ["sources said"]})
    assert lex.predict_proba(["anything may happen"])[:, 1:].tolist() == [[0.0, 0.0]]


def _toy() -> tuple[list[Example], list[Example]]:
    pos = ["officials said anonymously", "anonymous officials said", "officials said on background"]
    neg = ["the weather was fine", "the team won the game", "the fine weather held"]
    train = [ex(i, t, **{U: int(i < 3), H: None, S: 0}) for i, t in enumerate(pos + neg)]
    dev = [ex(10, "anonymous officials said again", **{U: 1}), ex(11, "the game was fine", **{U: 0})]
    return train, dev


def test_tfidf_logreg_learns_a_separable_toy() -> None:
    train, dev = _toy()
    model = TfidfLogRegBaseline().fit(train, dev)
    p = model.predict_proba(["officials said anonymously again", "the weather was fine again"])
    assert p.shape == (2, 3)
    assert p[0, 0] >= model.thresholds[U] > p[1, 0]  # flagged at p >= threshold
    assert np.all((p >= 0) & (p <= 1))
    # hedging has no labels, sensational only negatives: constant probabilities, no crash
    assert p[0, 1] == p[1, 1] == 0.0 and p[0, 2] == p[1, 2] == 0.0
    again = TfidfLogRegBaseline().fit(train, dev).predict_proba(["officials said anonymously again"])
    assert again.tolist() == p[:1].tolist()  # deterministic


def test_majority_predicts_the_majority_class() -> None:
    train = [ex(i, "t", **{U: int(i < 1), H: int(i < 3), S: None}) for i in range(4)]
    maj = MajorityBaseline().fit(train)
    p = maj.predict_proba(["a", "b"])
    assert p[0].tolist() == pytest.approx([0.25, 0.75, 0.0])
    flags = p >= np.array([maj.thresholds[m] for m in MARKERS])
    assert flags.tolist() == [[False, True, False], [False, True, False]]
    with pytest.raises(RuntimeError, match="before fit"):
        MajorityBaseline().predict_proba(["x"])


@pytest.mark.data
def test_lexicon_from_the_corpora_lists(shared_data) -> None:
    lex = LexiconBaseline.from_corpora(shared_data)
    assert all(len(lex.lexicons[m]) > 10 for m in MARKERS)
    p = lex.predict_proba(["Sources said the plan was dead.", "The meeting starts at noon."])
    assert p[0, 0] >= 0.5 and p[1, 0] == 0.0
