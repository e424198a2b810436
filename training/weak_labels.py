"""Every weak-labelling rule the corpus loaders use, in one place.

Each rule implements a part of the codebook (docs/CODEBOOK.md, which follows the shared LABELS.md) that a corpus does not
annotate directly. The rules are deliberately simple string rules: they are documented, tested on
hand-written examples (tests/test_weak_labels.py) and their known blind spots are listed in the
docstrings, so the noise they add to training labels can be judged.
"""

from __future__ import annotations

import re
from typing import Optional

Label = Optional[int]

# --------------------------------------------------------------------------------------------------
# unverifiable_sourcing: PolNeAR source spans
# --------------------------------------------------------------------------------------------------

# Words that say outright that the source is hidden or cannot be checked (LABELS.md, U positive:
# "sources close to", "who asked not to be named", "speaking on condition of anonymity",
# "people familiar with", "insiders", "a leaked memo", "a classified report").
_ANONYMITY = re.compile(
    r"\b("
    r"anonymity|anonymous(ly)?|unnamed|unidentified|"
    r"not authori[sz]ed|"
    r"(not|declined|refused|requested|asked|wished|wanting|want(ed)?)( not)? to be (named|identified|quoted)|"
    r"on background|off the record|not for attribution|"
    r"familiar with|(?<!^)close to (?!\d)|briefed on|"
    r"(with|had|have|has|having) (direct |specific |first-?hand |intimate )?knowledge|"
    r"insiders?|sources?|"
    r"leak(ed|s)?|confidential|classified|"
    r"internal (documents?|memos?|emails?|reports?|polls?|polling|data|communications?|files?)|"
    r"rumou?rs?|whispers?"
    r")\b",
    re.IGNORECASE,
)

# LABELS.md edge case "Documents made public": court filings, released emails, published reports
# are checkable even when called "internal" or "confidential".
_MADE_PUBLIC = re.compile(
    r"\b(released|published|made public|public(ly)? (filed|available)|court (filings?|documents?|records?)|filed)\b",
    re.IGNORECASE,
)

# Pronouns and relative pronouns: the codebook resolves them to their antecedent, which needs
# coreference we do not have here. They are treated as NOT anonymous (a deliberate bias towards the
# negative: in PolNeAR "he"/"she" mostly point back at a named politician).
_PRONOUNS = frozenset(
    "he she they it we i you who whom which that his her hers their theirs its him them us me our "
    "my your this these those one both either neither".split()
)

# Spokespeople and statements of an organisation are checkable (LABELS.md: "A Dow spokeswoman said":
# negative), unless they speak on condition of anonymity (caught by _ANONYMITY first).
_SPOKES = frozenset(
    "spokesman spokeswoman spokesperson spokespeople spokesmen spokeswomen statement statements "
    "release representative representatives".split()
)

# Unnamed people or vague groups as the source of a claim (LABELS.md: "FBI officials said",
# "campaign aides said", "critics say", "some experts believe", "people at the ministry").
_VAGUE_PEOPLE = frozenset(
    """
    official officials aide aides adviser advisers advisor advisors source sources insider insiders
    critic critics expert experts analyst analysts observer observers diplomat diplomats staffer staffers
    strategist strategists operative operatives person people persons someone somebody anyone anybody
    everyone everybody member members supporter supporters opponent opponents attendee attendees
    participant participants employee employees executive executives lawyer lawyers associate associates
    ally allies confidant confidants friend friends colleague colleagues donor donors activist activists
    lawmaker lawmakers legislator legislators leader leaders authorities investigators investigator
    democrats republicans conservatives liberals progressives evangelicals americans voters residents
    scientists economists researchers historians scholars commentators pundits observers skeptics sceptics
    detractors backers fans followers loyalists insiders veterans staff
    some many others several few most all numerous various
    """.split()
)

# Unspecified reports, studies and polls (LABELS.md edge case: "Polls show", "studies suggest",
# "reports say" with nothing named: positive; a named poll or study: negative).
_DOC_PLURAL = frozenset(
    "reports polls surveys studies analyses estimates documents memos emails accounts records findings".split()
)
_DOC_SINGULAR = frozenset("report poll survey study analysis estimate document memo email account".split())
_QUANTIFIERS = frozenset("some many most several few numerous various certain countless".split())
_INDEFINITE = frozenset("a an one another some new recent".split())

# Words that may be capitalised (sentence start, titles) without being a name.
_COMMON = (
    _PRONOUNS
    | _SPOKES
    | _VAGUE_PEOPLE
    | _DOC_PLURAL
    | _DOC_SINGULAR
    | _INDEFINITE
    | frozenset(
        "the a an and or of for at in with from top senior former current local state federal campaign "
        "administration white house republican democratic gop party government".split()
    )
)

# Where the core noun phrase of a source span ends: apposition, relative clause, prepositional
# post-modifier ("officials at the ministry" -> "officials"; "a spokesman for X" -> "a spokesman").
_HEAD_CUT = re.compile(
    r"\s*(,|\(|—|–|--|:|;|\bwho\b|\bwhom\b|\bwhich\b|\bthat\b|\bof\b|\bfor\b|\bat\b|\bin\b|\bwith\b|"
    r"\bfrom\b|\bon\b|\binside\b|\bwithin\b|\bclose\b|\bacross\b|\bincluding\b|\blike\b)\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z.'’-]*")


def _words(text: str) -> list[str]:
    # Strip possessives so "Trump's adviser" -> ["Trump", "adviser"].
    return [re.sub(r"['’]s?$", "", w).rstrip(".") for w in _WORD.findall(text)]


def _is_proper(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in _COMMON


def is_unverifiable_source(source_text: str) -> bool:
    """True when a PolNeAR Source span names nobody the reader could identify or check.

    Implements LABELS.md "unverifiable_sourcing" and its edge cases for a source phrase on its own:

    - explicit anonymity ("sources", "who spoke on condition of anonymity", "people familiar with the
      plan", "a person close to", "insiders", "a leaked memo"): positive, a spokesperson included;
    - unnamed people or vague groups, also of a named body ("FBI officials", "campaign aides",
      "a senior official", "critics", "some experts", "people at the ministry"): positive;
    - unspecified reports, polls, studies ("reports", "polls", "a new study"): positive; a named one
      ("a 2023 Pew survey") or a definite one referring back ("the poll"): negative;
    - named people and organisations, spokespeople and statements ("Smith", "the Defence Ministry",
      "A Dow spokeswoman"), and documents made public: negative.

    Blind spots (documented, not fixed): pronouns ("he", "she", "they", "who") are negative because
    resolving them (LABELS.md "Context") needs coreference; vox pops ("one woman") are not told apart
    from unnamed witnesses; the group-as-actor case needs the cue (see `attribution_label`).
    """
    text = " ".join(source_text.split())
    if not text:
        return False
    if _MADE_PUBLIC.search(text):
        return False
    if _ANONYMITY.search(text):
        return True
    head = _HEAD_CUT.split(text, maxsplit=1)[0]
    words = _words(head) or _words(text)
    if not words:
        return False
    lowered = [w.lower() for w in words]
    if len(words) == 1 and lowered[0] in _PRONOUNS:
        return False
    if any(w in _SPOKES or w == "secretary" and "press" in lowered for w in lowered):
        return False
    last = lowered[-1]
    # A vague quantifier over people or things ("some students", "many observers", "several reports").
    if lowered[0] in _QUANTIFIERS and not any(_is_proper(w) for w in words[1:]):
        return True
    if last in _VAGUE_PEOPLE:
        return not _named_in_apposition(text)
    # A report or poll is named when any part of the span names it ("a new poll from USA TODAY").
    named = any(_is_proper(w) for w in _words(text))
    if last in _DOC_PLURAL:
        return not named
    if last in _DOC_SINGULAR:
        return lowered[0] in _INDEFINITE and not named
    return False


def _named_in_apposition(text: str) -> bool:
    """ "Apple's chief executive, Tim Cook," names its person right after the comma."""
    parts = text.split(",")
    if len(parts) < 2:
        return False
    words = _words(parts[1])
    # "..., Tim Cook," or "..., Sen. Bernie Sanders (I-Vt.) and ...": the apposition opens with a name.
    return len(words) >= 2 and _is_proper(words[0]) and _is_proper(words[1])


# Cues where a vague group acts rather than sources a claim (LABELS.md "A vague group as actor vs as
# source": "Some lawmakers proposed a bill" -- negative, "and so is a group that urges, warns or demands").
_ACTION_CUE = re.compile(
    r"\b(propos|urg|warn|demand|call(s|ed|ing)? for|call(s|ed|ing)? on|vot|introduc|plan|vow|pledg|promis|"
    r"ask|request|press|push|lobb|petition|sue|su(ed|ing)|protest|chant|rall)\w*",
    re.IGNORECASE,
)


def is_action_cue(cue_text: str) -> bool:
    """True when the attribution cue is an action (propose, urge, warn, demand, vote, ask...).

    LABELS.md "A vague group as actor vs as source": "Some lawmakers proposed a bill" is negative,
    "and so is a group that urges, warns or demands"; only an unsourced claim about what a group
    thinks or says is positive. Blind spot: "warned that X will happen" is also read as an action.
    """
    return bool(_ACTION_CUE.match(" ".join(cue_text.split())))


# Agentless attributions (LABELS.md: "it is widely thought", "reports suggest", and the edge case
# "Agentless epistemic passives ('is believed to', 'is said to', 'is widely thought'): both
# unverifiable sourcing and hedging"). "Is known for", "is expected to", "appears", "seems" are NOT
# unverifiable sourcing (common knowledge, forecasts, the writer's own hedging).
_AGENTLESS = re.compile(
    r"\b("
    r"reportedly|allegedly|purportedly|supposedly|rumou?red|"
    r"(is|are|was|were|been|being|be) (widely |often |long |generally |commonly )?"
    r"(said|believed|thought|reported|alleged|claimed|rumou?red|understood|considered|regarded)|"
    r"(widely|often|generally|commonly) (held|believed|thought|seen|viewed|reported|considered|regarded|described)|"
    r"according to (reports|some|many|critics|sources)|"
    r"allegations?|accusations?|rumou?rs?|speculation|reports?|"
    r"^said$"
    r")\b",
    re.IGNORECASE,
)


def is_agentless_attribution_cue(cue_text: str) -> bool:
    """True when an attribution with no source span rests its claim on nobody in particular.

    PolNeAR marks attributions without a source ("Attribution-no-source"). Per LABELS.md, agentless
    epistemic passives and unspecified reports are unverifiable sourcing ("is said to", "is believed
    to", "reportedly", "allegations", "it is widely thought"), while the writer's own framing is not
    ("appears", "seems", "is expected to", "known as", "was asked"): those are hedging or nothing.
    """
    return bool(_AGENTLESS.search(" ".join(cue_text.split())))


def attribution_label(source_text: Optional[str], cue_text: str) -> int:
    """Unverifiable-sourcing label (1/0) of one attribution from its source and cue spans.

    - no source span: positive only for an agentless attribution (`is_agentless_attribution_cue`);
    - a vague group doing something (`is_action_cue`) is an actor, not a source: negative;
    - otherwise `is_unverifiable_source(source_text)`.
    An explicit anonymity marker in the source wins over an action cue ("officials, speaking on
    condition of anonymity, urged ...": positive).
    """
    if not source_text or not source_text.strip():
        return int(is_agentless_attribution_cue(cue_text))
    if _ANONYMITY.search(source_text) and not _MADE_PUBLIC.search(source_text):
        return 1
    if is_action_cue(cue_text):
        return 0
    return int(is_unverifiable_source(source_text))


# --------------------------------------------------------------------------------------------------
# CoNLL-2010 Wikipedia (WikiWeasel) sentences + Szeged Uncertainty Corpus cues
# --------------------------------------------------------------------------------------------------


def wikiweasel_unverifiable_label(uncertain: bool, szeged_has_cue: Optional[bool]) -> Label:
    """Weak unverifiable-sourcing label of a CoNLL-2010 Wikipedia sentence.

    CoNLL-2010 marks a Wikipedia sentence "uncertain" for weasel words *or* hedges. The Szeged
    Uncertainty Corpus re-annotates the same sentences with semantic-uncertainty (hedge) cues only.
    So: uncertain with no Szeged cue ≈ a weasel attribution ("Some note that...", "It is often said
    that..."), which LABELS.md lists as unverifiable sourcing (Wikipedia's "weasel words"): 1.
    Certain: no weasel words: 0. Uncertain with a Szeged cue, or uncertain and not found in Szeged:
    hedge, weasel or both, undecidable: None (masked).
    """
    if not uncertain:
        return 0
    if szeged_has_cue is False:
        return 1
    return None


def wikiweasel_hedging_label(szeged_has_cue: Optional[bool]) -> Label:
    """Hedging label of a CoNLL-2010 Wikipedia sentence: the Szeged cue annotation where the sentence
    was found in Szeged wiki.xml (gold: LABELS.md "hedging" ≈ Szeged semantic uncertainty), else None.

    The CoNLL "certain" label alone is not used as a hedging negative: about 15 % of the CoNLL-certain
    sentences that are in Szeged carry a Szeged hedge cue.
    """
    if szeged_has_cue is None:
        return None
    return int(szeged_has_cue)
