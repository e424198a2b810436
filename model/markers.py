"""The three rhetorical markers redflags scores, as defined in docs/CODEBOOK.md."""

from __future__ import annotations

# Order matters: it is the column order of every probability matrix and of the model's head.
MARKERS: tuple[str, ...] = ("unverifiable_sourcing", "hedging", "sensational_framing")

DESCRIPTIONS: dict[str, str] = {
    "unverifiable_sourcing": "rests a claim on a source the reader cannot identify or check "
    "(anonymous people, unseen documents, 'critics say')",
    "hedging": "signals uncertainty or speculation about its own claim (may, reportedly, it is unclear whether)",
    "sensational_framing": "uses wording chosen to provoke emotion or exaggerate "
    "(loaded words, exaggeration, fear appeals, dramatised secrecy)",
}

# Shown wherever scores reach a person: the markers describe style, never truth.
STYLE_NOT_TRUTH = (
    "These markers describe how a text is written, not whether it is true: "
    "a sentence full of markers can be accurate, and a clean sentence can be false."
)

# Kinds of sensational framing the token head names for an evidence span (docs/CODEBOOK.md): the six
# PTC techniques the codebook counts, and two that the news annotations mark. Order = the head's columns.
TECHNIQUES: tuple[str, ...] = (
    "loaded_language",
    "exaggeration",
    "fear_appeal",
    "flag_waving",
    "name_calling",
    "slogan",
    "dramatised_secrecy",
    "clickbait",
)
