"""Story grouping: later coverage of a story goes into the first alert's thread.

Pure code (no I/O, no Discord, no database). Pipeline for one article:

    fp = fingerprint(title, summary, link, published)   # fingerprint.py
    grouper.assign(article_id, fp) -> StoryAssignment    # grouper.py

Method
------
Fingerprint (``fingerprint.py``, ``text.py``, ``names.py``, ``links.py``):

- content tokens: NFKD accent folding, lowercase, possessives dropped, English
  stopwords and news boilerplate removed ("report", "says", "watch", "photos",
  "video", "exclusive", "review", ...: ``stopwords.py``), light suffix stemming.
  Title tokens and summary tokens are kept apart; the summary contributes its first
  ``MAX_BODY_TOKENS`` (40) new tokens - the lede, not the whole article.
- distinctive names: runs of capitalized words from the ORIGINAL casing, with Title
  Case headlines and sentence-initial words only trusted when confirmed (``names.py``).
- canonical link: scheme, "www."/"m."/"amp." hosts, tracking parameters (utm_*,
  fbclid, ...), fragments and trailing slashes removed; home-page links ignored.
- the token sets themselves are stored (JSON, a few hundred bytes), not MinHash/
  SimHash: texts are short, exact Jaccard is cheap and has no estimation error, and
  the inverted index over tokens finds candidates without LSH misses.

Pairwise decision (``similarity.py``), in order:

1. same canonical link -> same story, always;
2. name conflict -> different: the headlines' subjects (first name-like run) each
   occur nowhere in the other article ("Taylor Swift wins..." vs "Beyonce wins..."),
   or both have names and none occurs in the other, or the same surname comes with
   given names the other never mentions ("Kim Kardashian" vs "Kourtney Kardashian");
3. title path: Jaccard(title tokens) >= 0.50 and the titles share >= 1 token that
   is not a name of both (an "event" word: divorce, pregnant, fragrance);
4. summary path (both have summaries): Jaccard(title+summary tokens) >= 0.25, the
   overlap holds >= 2 event tokens, and the titles share >= 1 event token.

Shared names alone never merge: a product launch and a divorce filing by the same
person share exactly the names. ``similarity(a, b)`` is the larger qualifying
Jaccard (1.0 for a link match) and ranks candidates; ``same_story`` decides.

Grouping (``grouper.py``, ``index.py``): an article joins the open story with the
highest similarity among those where ``same_story`` holds against one of the story's
representatives (its first article + the 5 most recent); otherwise it opens a story
(id from the first article's id). A story is open while its newest article is within
the window (default 48 h) of the newest article seen. Candidate stories come from an
inverted token index filtered by a shared-token lower bound that the decision
implies, so no story the decision would accept is skipped (a test checks this
against an exhaustive scan).

Thresholds were tuned with ``python -m bench.grouping --sweep`` on real UCI News
Aggregator headlines (no summaries) and on the hand-written labelled set
``tests/data/stories_labelled.tsv`` (with summaries, many same-name stories). Lower
thresholds raise recall but start merging same-name stories on the labelled set
(title 0.40: precision 0.87; summary 0.20: precision 0.97); precision was preferred,
because a wrong merge silently drops a member's ping.
"""

from bot.stories.fingerprint import StoryFingerprint, fingerprint
from bot.stories.grouper import StoryAssignment, StoryGrouper
from bot.stories.links import canonical_link
from bot.stories.open_story import OpenStory
from bot.stories.similarity import DEFAULT_THRESHOLDS, Thresholds, same_story, similarity

__all__ = [
    "DEFAULT_THRESHOLDS",
    "OpenStory",
    "StoryAssignment",
    "StoryFingerprint",
    "StoryGrouper",
    "Thresholds",
    "canonical_link",
    "fingerprint",
    "same_story",
    "similarity",
]
