"""English function words: never evidence on their own, and trimmed from the edges of a span.

The token head scores every word, and a reader cannot trust a span that is "and", "an" or the "s"
of "it's": such words carry grammar, not a marker. The list holds articles, pronouns,
prepositions, conjunctions, the forms of "be", "have" and "do", and their contractions. Modal
verbs (may, might, could, would, can, should, must) are not in it: they are the hedging cues
themselves. Words are compared lower-cased with a straight apostrophe.
"""

from __future__ import annotations

FUNCTION_WORDS: frozenset[str] = frozenset("""
a an the this that these those
i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
it its itself we us our ours ourselves they them their theirs themselves one
who whom whose which what
about above across after against along amid among around as at before behind below beneath beside
besides between beyond by despite down during except for from in inside into like near of off on
onto out outside over past per since than through throughout till to toward towards under until
unto up upon via with within without
and but or nor so yet if then because although though while whereas whether unless once
be am is are was were been being have has had having do does did doing
not no
it's that's there's here's he's she's what's who's let's
i'm you're we're they're i've you've we've they've i'd you'd he'd she'd we'd they'd
i'll you'll he'll she'll we'll they'll it'll
isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't
s t d ll re ve m
""".split())


def is_function_word(word: str) -> bool:
    """Whether a word (any case, straight or curly apostrophe) is a function word."""
    return word.lower().replace("\u2019", "'") in FUNCTION_WORDS
