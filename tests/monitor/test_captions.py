"""Case names found in running text (`monitor.captions`): the spellings people use are one name; a longer
name, or a bare party, is not the case."""

from __future__ import annotations

import pytest

from monitor.captions import caption_words, find_captions, is_caption, short_name

ILLINOIS = "U.S. v. Illinois"


@pytest.mark.parametrize(
    "text",
    [
        "The lawsuit, U.S. v. State of Illinois, challenges three laws.",
        "In United States v. Illinois the court held",
        "United States of America v. State of Illinois, et al.",
        "USA versus Illinois",
        "United States vs. Illinois.",
        "U. S. v. Illinois",
        "united states v. illinois (N.D. Ill.)",
        "U.S. v. Illinois, No. 1:25-cv-01285",
        "U.S. v. Illinois No. 1:25-cv-01285",
    ],
)
def test_spellings_of_one_caption_match(text):
    """v./vs./versus, U.S./USA/United States (of America), State of X / X, et al., case and punctuation aside."""
    [match] = find_captions(text, [ILLINOIS])
    assert match.name == ILLINOIS and match.text.lower().endswith("illinois") and match.text in text


@pytest.mark.parametrize(
    "text",
    [
        "United States v. Illinois Central Railroad Co.",  # a longer party name
        "Illinois v. United States",  # the other way round is another case
        "The United States sued Illinois, Chicago and Cook County.",  # parties, no caption
        "Illinois",
        "United States v. Indiana",
    ],
)
def test_other_names_do_not_match(text):
    """A caption running on into a longer name, the parties reversed, or the parties without "v." are not the case."""
    assert find_captions(text, [ILLINOIS]) == []


def test_a_longer_first_party_is_another_case_unless_it_is_the_case_itself():
    """`South San Francisco v. Trump` is not `San Francisco v. Trump`; `City and County of San Francisco v. Trump`
    ends with it after a lower-case word, which is the same case written in full."""
    assert find_captions("South San Francisco v. Trump", ["San Francisco v. Trump"]) == []
    [match] = find_captions("City and County of San Francisco v. Trump", ["San Francisco v. Trump"])
    assert match.text == "San Francisco v. Trump"


def test_each_name_is_reported_once_at_its_first_mention():
    text = "U.S. v. Illinois was filed; later U.S. v. Illinois was stayed. SF v. Trump too."
    matches = find_captions(text, [ILLINOIS, "SF v. Trump"])
    assert [(m.name, m.start) for m in matches] == [(ILLINOIS, 0), ("SF v. Trump", text.index("SF v."))]


def test_what_counts_as_a_caption():
    """Two parties and a "v.", or "In re ..."; a party alone, or a watch name without "v.", is not a caption."""
    assert is_caption("United States v. Illinois") and is_caption("In re Grand Jury Subpoena")
    assert not is_caption("Illinois") and not is_caption("Illinois sanctuary case") and not is_caption("v. Trump")
    assert caption_words("U.S. v. State of Illinois") == caption_words("United States of America v. Illinois, et al.")
    assert short_name("U.S. v. Illinois (N.D. Ill.)") == "U.S. v. Illinois"
    assert short_name("City and County of San Francisco v. Trump") == "City and County of San Francisco v. Trump"
