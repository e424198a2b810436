"""Weak-labelling rules on hand-written examples, including the LABELS.md edge cases."""

from __future__ import annotations

import pytest
from redflags.training.weak_labels import (
    attribution_label,
    is_action_cue,
    is_agentless_attribution_cue,
    is_unverifiable_source,
    wikiweasel_hedging_label,
    wikiweasel_unverifiable_label,
)

ANONYMOUS_OR_VAGUE = [
    "FBI officials",  # LABELS.md edge case: unnamed officials of a named body
    "campaign aides",
    "people at the ministry",
    "a spokesperson speaking on condition of anonymity",  # anonymity beats "spokesperson"
    "a senior official who asked not to be named",
    "one diplomat, speaking on condition of anonymity,",
    "sources close to the ministry",
    "people familiar with the plan",
    "a person briefed on the talks",
    "insiders",
    "critics",
    "some experts",
    "many",
    "others",
    "a senior official",
    "a top Donald Trump adviser",
    "Democratic leaders",
    "reports",
    "Polls",
    "studies",
    "a new poll",
    "a leaked memo",
    "internal documents obtained by this newspaper",
    "an official who was not authorized to speak publicly",
]

NAMED_OR_UNRESOLVED = [
    "A Dow spokeswoman",  # LABELS.md edge case: a spokesperson of a named organisation
    "a spokesman for the Pentagon",
    "the Defence Ministry",
    "Smith",
    "Mr. Trump",
    "Hillary Clinton",
    "Katrina Pierson, a spokeswoman for Trump,",
    "Trump adviser Roger Stone",
    "Apple's chief executive, Tim Cook,",
    "her primary opponents, Sen. Bernie Sanders (I-Vt.) and former Maryland Gov. Martin O'Malley",
    "The New York Times",
    "the Internal Revenue Service",
    "a 2023 Pew survey",  # a named poll
    "a new poll from USA TODAY/Suffolk University",
    "the poll",  # definite: refers back to a poll already named
    "released internal emails",  # documents made public are checkable
    "court filings",
    "the director of the FBI",
    "police",
    # pronouns: resolving them needs coreference, so they are negative by design
    "he",
    "she",
    "they",
    "who",
    "It",
    "",
]


@pytest.mark.parametrize("source", ANONYMOUS_OR_VAGUE)
def test_anonymous_or_vague_sources_are_unverifiable(source: str) -> None:
    assert is_unverifiable_source(source) is True


@pytest.mark.parametrize("source", NAMED_OR_UNRESOLVED)
def test_named_sources_and_pronouns_are_not(source: str) -> None:
    assert is_unverifiable_source(source) is False


def test_vague_group_as_actor_is_not_a_source() -> None:
    # LABELS.md: "Some lawmakers proposed a bill" -- negative; so is a group that urges, warns or demands.
    assert attribution_label("some lawmakers", "proposed") == 0
    assert attribution_label("Critics", "urged") == 0
    assert attribution_label("many voters", "demanded") == 0
    assert attribution_label("activists", "warned") == 0
    # ...while an unsourced claim about what the group thinks or says is positive.
    assert attribution_label("some students", "saw") == 1
    assert attribution_label("critics", "say") == 1
    assert attribution_label("most voters", "doubt") == 1


def test_anonymity_beats_action_cue() -> None:
    assert attribution_label("officials, speaking on condition of anonymity,", "urged") == 1


def test_named_source_with_any_cue_is_negative() -> None:
    assert attribution_label("Smith", "told reporters") == 0
    assert attribution_label("A Dow spokeswoman", "said") == 0


@pytest.mark.parametrize("cue", ["is said", "is believed", "reportedly", "allegedly", "is widely thought", "allegations"])
def test_agentless_epistemic_passives_are_unverifiable(cue: str) -> None:
    assert is_agentless_attribution_cue(cue)
    assert attribution_label(None, cue) == 1


@pytest.mark.parametrize("cue", ["appears", "seemed", "is expected", "is known for", "was asked", "known as"])
def test_writer_framing_without_source_is_not_unverifiable(cue: str) -> None:
    # LABELS.md: forecasts, "appears" are hedging; "is known for" is neither; asking is not a source.
    assert not is_agentless_attribution_cue(cue)
    assert attribution_label(None, cue) == 0
    assert attribution_label("   ", cue) == 0


def test_action_cues() -> None:
    assert is_action_cue("proposed")
    assert is_action_cue("called for")
    assert not is_action_cue("said")
    assert not is_action_cue("believe")


def test_wikiweasel_rules() -> None:
    # uncertain without a hedge cue: weasel attribution
    assert wikiweasel_unverifiable_label(True, False) == 1
    # uncertain with a hedge cue, or not found in Szeged: undecidable
    assert wikiweasel_unverifiable_label(True, True) is None
    assert wikiweasel_unverifiable_label(True, None) is None
    # certain: no weasel
    assert wikiweasel_unverifiable_label(False, True) == 0
    assert wikiweasel_unverifiable_label(False, None) == 0
    assert wikiweasel_hedging_label(True) == 1
    assert wikiweasel_hedging_label(False) == 0
    assert wikiweasel_hedging_label(None) is None
