"""Text normalization for story fingerprints: folded words and content tokens.

Tokens: NFKD-folded to ASCII-ish lowercase ("Beyoncé" -> "beyonce"), possessives
dropped ("Kim's" -> "kim"), stopwords and boilerplate removed, then a light suffix
stemmer so "cancels"/"cancelled"/"cancelling" and "marries"/"married" meet.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.stories.stopwords import STOPWORDS

# A word: a number with its decimal part ("$22.5 million" -> "22.5"), or letters with
# inner apostrophes ("Kim's", "don't").
_WORD = re.compile(r"\d+(?:[.,]\d+)*[^\W_]*|[^\W\d_]+(?:'[^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})

MIN_TOKEN_LENGTH = 2


def fold(text: str) -> str:
    """Lowercase, strip accents, unify apostrophes."""
    if text.isascii():  # the common case: nothing to decompose
        return text.replace("`", "'").lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _drop_possessive(word: str) -> str:
    if word.endswith("'s"):
        word = word[:-2]
    return word.replace("'", "")


@lru_cache(maxsize=1 << 14)  # words follow Zipf: a few thousand cover most of any feed
def stem(word: str) -> str:
    """Conservative suffix stripping so inflections of one word meet.

    Plural/-ed/-ing are removed (only if a vowel remains: "string" stays), then a
    silent final "e" and a final consonant+"y" are normalized, so "make"/"making",
    "movie"/"movies" and "marry"/"married"/"marries" each share one stem. Numbers and
    words of three letters or fewer are left alone.
    """
    if word[0].isdigit() or len(word) <= 3:
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "i"
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("eed"):
        word = word[:-1] if len(word) > 5 else word  # "agreed" -> "agree"; "speed" stays
    elif word.endswith("ed") and _has_vowel(word[:-2]):
        word = _undouble(word[:-2])
    elif word.endswith("ing") and len(word) > 5 and _has_vowel(word[:-3]):
        word = _undouble(word[:-3])
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("y") and word[-2] not in _VOWELS:
        word = word[:-1] + "i"
    return word


_VOWELS = frozenset("aeiouy")


def _has_vowel(stem_part: str) -> bool:
    return len(stem_part) >= 2 and any(ch in _VOWELS for ch in stem_part)


def _undouble(word: str) -> str:
    # "cancell" -> "cancel", "stopp" -> "stop", "wedd" -> "wed"; keep "fall", "pass"
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    if len(word) > 5 and word.endswith("ll"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Folded words with possessives dropped, in order, before stopword removal."""
    return [_drop_possessive(w) for w in _WORD.findall(fold(text))]


def content_tokens(text: str) -> list[str]:
    """Stemmed content tokens in order of appearance, duplicates kept."""
    out: list[str] = []
    for word in words(text):
        if len(word) < MIN_TOKEN_LENGTH or word in STOPWORDS:
            continue
        out.append(stem(word))
    return out
