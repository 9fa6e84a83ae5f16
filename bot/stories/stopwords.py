"""Words that carry no story identity: English function words and news boilerplate.

Both sets hold normalized (lowercase, accent-free, apostrophe-free) words, compared
before stemming. Boilerplate is what outlets add around any story ("watch", "photos",
"report", "exclusive"); keeping it would make unrelated celebrity items look alike.
"""

from __future__ import annotations


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH_STOPWORDS: frozenset[str] = _word_set(
    """
    a about above after again against all almost along already also although always am
    among an and another any anyone anything are around as at be became because become
    becomes been before being below between both but by can cannot could did do does
    doing done down during each either else enough even ever every few for from further
    get gets getting give gives go goes going gone got had has have having he her here
    hers herself him himself his how however i if in into is it its itself just least
    less let lets like made make makes many may me might more most much must my myself
    near neither never no nor not now of off on once one only onto or other others our
    ours ourselves out over own per perhaps put rather really same see seen seem seems
    she should since so some something still such than that the their theirs them
    themselves then there these they thing things this those though through thus till
    to too toward towards under until up upon us very via was we well were what whatever
    when where whether which while who whoever whom whose why will with within without
    would yet you your yours yourself yourselves im ive youre dont doesnt didnt isnt
    arent wasnt werent wont cant couldnt shouldnt wouldnt hes shes theyre weve thats
    whats heres theres lets amid despite
    monday tuesday wednesday thursday friday saturday sunday today tonight yesterday
    tomorrow
    """
)

# Words outlets wrap around any story; they say nothing about which story it is.
NEWS_BOILERPLATE: frozenset[str] = _word_set(
    """
    report reports reported reportedly reporting says say said saying tells told
    according source sources claim claims claimed insider insiders
    watch watching video videos photo photos pic pics picture pictures image images
    gallery slideshow exclusive breaking update updated updates live latest news
    new newest read click here see look looks looking first ever just now
    official officially confirm confirms confirmed announce announces announced
    reveal reveals revealed details detail everything know need
    week weekend day days year years time times today
    mr mrs ms dr
    star stars celebrity celeb celebs
    rumor rumors rumour rumours
    review reviews recap recaps preview previews interview interviews opinion
    analysis editorial column podcast livestream roundup highlights poll quiz
    """
)

STOPWORDS: frozenset[str] = ENGLISH_STOPWORDS | NEWS_BOILERPLATE
