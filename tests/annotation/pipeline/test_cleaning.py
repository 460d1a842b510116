import pytest

from annotation.pipeline.cleaning import (
    FIX_UNICODE,
    NORMALIZE_NFC,
    NORMALIZE_NFKC,
    STRIP_HTML,
    TRUNCATE,
    WHITESPACE_COLLAPSE,
    WHITESPACE_STRIP,
    CleaningPolicy,
    html_strip,
    language_detect,
    text_clean,
)

DECOMPOSED = "Cafe\u0301"  # "Café" written as e + combining acute accent


def test_default_policy_leaves_ordinary_text_untouched_and_records_nothing():
    messy = "  Hello\t<b>world</b>  CafÃ© &amp; “quotes”  "
    result = text_clean(messy)
    assert result.text == messy
    assert result.changes == []
    assert not result.rejected


def test_default_policy_normalises_to_nfc_and_says_so():
    result = text_clean(DECOMPOSED)
    assert result.text == "Café"
    assert result.changes == [NORMALIZE_NFC]


def test_normalisation_none_keeps_decomposed_characters():
    result = text_clean(DECOMPOSED, CleaningPolicy(normalization="none"))
    assert result.text == DECOMPOSED
    assert result.changes == []


def test_nfkc_folds_ligatures_and_full_width_letters_that_nfc_keeps():
    text = "ﬁne ＡＢＣ"
    assert text_clean(text).text == text
    result = text_clean(text, CleaningPolicy(normalization="NFKC"))
    assert result.text == "fine ABC"
    assert result.changes == [NORMALIZE_NFKC]


def test_fix_unicode_repairs_mojibake_but_keeps_curly_quotes_and_entities():
    result = text_clean("CafÃ© “menu” &amp; more", CleaningPolicy(fix_unicode=True))
    assert result.text == "Café “menu” &amp; more"
    assert result.changes == [FIX_UNICODE]


def test_fix_unicode_on_clean_text_records_no_change():
    assert text_clean("déjà vu", CleaningPolicy(fix_unicode=True)).changes == []


def test_whitespace_strip_trims_the_ends_only():
    result = text_clean("  two  spaces\n", CleaningPolicy(whitespace="strip"))
    assert result.text == "two  spaces"
    assert result.changes == [WHITESPACE_STRIP]


def test_whitespace_collapse_turns_every_run_into_one_space():
    result = text_clean(" a \t b\n\n c ", CleaningPolicy(whitespace="collapse"))
    assert result.text == "a b c"
    assert result.changes == [WHITESPACE_COLLAPSE]


def test_strip_html_keeps_text_drops_tags_scripts_styles_and_comments_and_decodes_entities():
    source = (
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<p>Caf&eacute; &amp; <b>bar</b></p><!-- note --><script>alert('x')</script>"
        "<div>second&nbsp;line</div>end<br>after</body></html>"
    )
    assert html_strip(source) == "Café & bar\nsecond\xa0line\nend\nafter"


def test_strip_html_is_recorded_and_runs_before_whitespace_collapse():
    policy = CleaningPolicy(strip_html=True, whitespace="collapse")
    result = text_clean("<p>one</p><p>two</p>", policy)
    assert result.text == "one two"
    assert result.changes == [STRIP_HTML, WHITESPACE_COLLAPSE]


def test_strip_html_decodes_entities_in_text_without_tags():
    result = text_clean("fish &amp; chips", CleaningPolicy(strip_html=True))
    assert result.text == "fish & chips"
    assert result.changes == [STRIP_HTML]


def test_strip_html_leaves_a_plain_comparison_alone():
    result = text_clean("1 < 2 and 3 > 2", CleaningPolicy(strip_html=True))
    assert result.text == "1 < 2 and 3 > 2"
    assert result.changes == []


def test_text_emptied_by_cleaning_is_rejected_as_too_short():
    result = text_clean("<script>only code</script>", CleaningPolicy(strip_html=True))
    assert result.text == ""
    assert result.rejected_reason == "shorter than the minimum of 1 characters (0)"


def test_min_length_counts_characters_not_bytes():
    assert not text_clean("ééé", CleaningPolicy(min_length=3)).rejected
    assert text_clean("éé", CleaningPolicy(min_length=3)).rejected_reason == (
        "shorter than the minimum of 3 characters (2)"
    )


def test_max_length_rejects_by_default_and_keeps_the_text():
    result = text_clean("abcdef", CleaningPolicy(max_length=5))
    assert result.rejected_reason == "longer than the maximum of 5 characters (6)"
    assert result.text == "abcdef"
    assert result.changes == []


def test_max_length_truncates_when_the_policy_says_so():
    result = text_clean("abcdef", CleaningPolicy(max_length=5, over_max="truncate"))
    assert result.text == "abcde"
    assert result.changes == [TRUNCATE]
    assert not result.rejected


def test_truncation_never_splits_a_grapheme():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji of five code points
    policy = CleaningPolicy(max_length=4, over_max="truncate", normalization="none")
    assert text_clean("ab" + family, policy).text == "ab"
    assert text_clean("abc" + DECOMPOSED[-2:], policy).text == "abc"  # "e" + combining accent


def test_language_detection_rejects_a_confident_other_language_and_names_it():
    policy = CleaningPolicy(languages=("en", "fr"))
    result = text_clean(
        "Das ist ein ganz normaler deutscher Satz über das Wetter von morgen.", policy
    )
    assert result.language == "de"
    assert result.rejected_reason.startswith("language 'de' (confidence ")
    assert result.rejected_reason.endswith("is not among the allowed languages: en, fr")


def test_language_detection_keeps_allowed_languages_and_reports_them():
    policy = CleaningPolicy(languages=("en", "fr"))
    english = text_clean("The weather is lovely today, let us walk along the river.", policy)
    french = text_clean(
        "Il fait très beau aujourd'hui, allons nous promener au bord de la rivière.", policy
    )
    assert (english.language, english.rejected) == ("en", False)
    assert (french.language, french.rejected) == ("fr", False)


def test_language_detection_keeps_texts_it_cannot_place():
    policy = CleaningPolicy(languages=("en",))
    result = text_clean("12345 678 !!!", policy)
    assert result.language is None
    assert not result.rejected


def test_language_detection_is_deterministic():
    text = "Ceci est une phrase assez courte."
    assert {language_detect(text) for _ in range(5)} == {language_detect(text)}


def test_steps_run_in_order_and_each_is_recorded_once():
    policy = CleaningPolicy(
        fix_unicode=True,
        strip_html=True,
        normalization="NFKC",
        whitespace="collapse",
        max_length=8,
        over_max="truncate",
    )
    result = text_clean("  <i>CafÃ©</i>   ﬁne  time ", policy)
    assert result.text == "Café fin"
    assert result.changes == [
        FIX_UNICODE,
        STRIP_HTML,
        NORMALIZE_NFKC,
        WHITESPACE_COLLAPSE,
        TRUNCATE,
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalization": "NFD"}, "normalization must be one of"),
        ({"whitespace": "trim"}, "whitespace must be one of"),
        ({"over_max": "drop"}, "over_max must be one of"),
        ({"min_length": -1}, "min_length must be 0 or more"),
        ({"min_length": 10, "max_length": 5}, "max_length (5) must be at least min_length (10)"),
        ({"languages": "en"}, "languages must be a tuple"),
        ({"languages": ("english",)}, "ISO 639-1 codes"),
        ({"language_min_score": 2}, "language_min_score must be between 0 and 1"),
    ],
)
def test_invalid_policies_are_refused_with_the_setting_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CleaningPolicy(**kwargs)
