"""html_to_text, clean_text and first_words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feeds.text import clean_text, first_words, html_to_text
from tests.bot.feeds.invariants import TAG_LIKE, control_characters


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("line<br>break<br/>here", "line break here"),
        ("Tom &amp; Jerry &lt;3 &eacute;t&eacute; &#8230; &#x263A;", "Tom & Jerry <3 été … ☺"),
        ("<script>alert('x')</script>Visible<style>p{color:red}</style>", "Visible"),
        ("<SCRIPT type='text/javascript'>var a = '<p>';</SCRIPT>ok", "ok"),
        ("  lots \n\t of \r\n   space\u00a0here ", "lots of space here"),
        ("ctrl\x00\x08chars\x1b\x7f\x9f gone", "ctrlchars gone"),
        ("&lt;p&gt;double &amp;amp; escaped&lt;/p&gt;", "double & escaped"),
        # Decoding repeats only while tags appear; escaped text stays escaped text.
        ("&amp;lt;b&amp;gt;triple&amp;lt;/b&amp;gt;", "&lt;b&gt;triple&lt;/b&gt;"),
        ("a < b and c > d", "a < b and c > d"),
        ("<!-- hidden comment -->shown", "shown"),
        ("<img src='x.png' alt='photo'>caption", "caption"),
        ("unclosed <b>bold", "unclosed bold"),
        ("<div><ul><li>one</li><li>two</li></ul></div>", "one two"),
        ("", ""),
        ("plain text, no markup", "plain text, no markup"),
        ("AT&T &unknown; entity", "AT&T &unknown; entity"),
        ("<<b>i>nested</b>", "nested"),
        ("\ufeffBOM and \ud800 surrogate", "BOM and surrogate"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Hello\n\tworld  ", "Hello world"),
        ("ab\x08cd", "abcd"),
        ("a\u2028b\u2029c", "a b c"),
        ("zero\u200cwidth non-joiner kept", "zero\u200cwidth non-joiner kept"),
        ("<b>not html-decoded</b> &amp;", "<b>not html-decoded</b> &amp;"),
        ("\x85next-line\x0cform-feed", "next-line form-feed"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        ("one two three", 12, "one two three"),
        (" ".join(f"w{n}" for n in range(13)), 12, " ".join(f"w{n}" for n in range(12)) + "…"),
        ("", 12, ""),
        ("exactly  two", 2, "exactly two"),
    ],
)
def test_first_words(text: str, count: int, expected: str) -> None:
    assert first_words(text, count) == expected


_TAG_NAMES = st.sampled_from(["p", "b", "div", "script", "style", "a", "img", "x-y", "SPAN"])
_FRAGMENTS = st.one_of(
    st.text(max_size=20),
    st.builds(lambda name: f"<{name}>", _TAG_NAMES),
    st.builds(lambda name: f"</{name}>", _TAG_NAMES),
    st.builds(lambda name, value: f'<{name} title="{value}">', _TAG_NAMES, st.text(max_size=8)),
    st.sampled_from(["&lt;", "&gt;", "&amp;", "&lt;b&gt;", "&amp;lt;i&amp;gt;", "<!--", "-->"]),
    st.sampled_from(["<", ">", "<!", "<?", "&#60;", "&#x3c;", "&#0;", "&#1;", "<br/>"]),
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(_FRAGMENTS, max_size=25).map("".join))
def test_html_to_text_never_returns_tag_like_markup(html: str) -> None:
    text = html_to_text(html)

    assert TAG_LIKE.search(text) is None
    assert control_characters(text) == []
    assert text == text.strip()
    assert "  " not in text


@settings(max_examples=200, deadline=None, database=None)
@given(st.text())
def test_clean_text_is_idempotent_and_single_spaced(text: str) -> None:
    once = clean_text(text)

    assert clean_text(once) == once
    assert control_characters(once) == []
