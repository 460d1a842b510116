import socket

import pytest

from governance import pii
from governance.pii import (
    DEFAULT_ENTITIES,
    PiiConfig,
    PiiFinding,
    findings_resolve,
    pii_detect,
    pii_mask,
    pii_pseudonymise,
    pii_reidentify,
)

KEY = b"project-7-pseudonym-key-0123456789"
EMOJI = (
    "\U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467 "  # astral characters and a ZWJ sequence
)


def found(text: str, **kwargs) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start : f.end]) for f in pii_detect(text, **kwargs)]


def test_finds_an_email_address_with_its_offsets():
    text = "Write to jane.doe+news@example.co.uk today."
    [finding] = pii_detect(text)
    assert (finding.entity, finding.start, finding.end) == ("EMAIL", 9, 36)
    assert text[finding.start : finding.end] == "jane.doe+news@example.co.uk"
    assert finding.score == 1.0


def test_an_address_on_an_unknown_top_level_domain_is_not_an_email():
    assert found("ping admin@router.localdomain now") == []


def test_finds_phone_numbers_in_national_and_international_formats():
    text = "Call 212-555-0199 or +44 20 7946 0958."
    assert found(text) == [("PHONE", "212-555-0199"), ("PHONE", "+44 20 7946 0958")]


def test_a_context_word_raises_the_phone_score():
    [bare] = pii_detect("Reach 212-555-0199 tomorrow")
    [with_context] = pii_detect("My phone number is 212-555-0199")
    assert with_context.score > bare.score


def test_without_context_words_the_pattern_score_stands():
    [finding] = pii_detect("My phone number is 212-555-0199", config=PiiConfig(context_words=False))
    assert finding.score == pytest.approx(0.4)


def test_short_numbers_are_not_phone_numbers():
    assert found("I watched it 1640 times in 2010 and rated it 9/10") == []


def test_a_card_number_passing_luhn_is_reported_and_one_failing_it_is_not():
    assert found("paid with 4111 1111 1111 1111") == [("CREDIT_CARD", "4111 1111 1111 1111")]
    assert found("paid with 4111 1111 1111 1112") == []
    assert found("card 5555555555554444 on file") == [("CREDIT_CARD", "5555555555554444")]


def test_an_iban_with_a_valid_checksum_is_reported_and_a_bad_one_is_not():
    assert found("IBAN GB82 WEST 1234 5698 7654 32 please") == [
        ("IBAN", "GB82 WEST 1234 5698 7654 32")
    ]
    assert found("IBAN GB82 WEST 1234 5698 7654 33 please") == []
    assert found("to DE89370400440532013000") == [("IBAN", "DE89370400440532013000")]


def test_finds_ipv4_and_ipv6_addresses_but_not_impossible_ones():
    text = "from 192.168.1.20 and 2001:db8::ff00:42:8329"
    assert found(text) == [("IP_ADDRESS", "192.168.1.20"), ("IP_ADDRESS", "2001:db8::ff00:42:8329")]
    assert found("version 999.300.1.1 released") == []


def test_finds_a_us_social_security_number_next_to_its_name():
    assert found("my ssn: 536-22-1234") == [("US_SSN", "536-22-1234")]


def test_finds_a_uk_national_insurance_number():
    assert found("NINO AB 12 34 56 C") == [("UK_NINO", "AB 12 34 56 C")]


def test_a_spanish_nif_needs_its_check_letter():
    assert found("DNI 12345678Z") == [("ES_NIF", "12345678Z")]
    assert found("DNI 12345678A") == []


def test_numeric_checksum_ids_are_only_looked_for_when_asked():
    text = "NHS number 943 476 5919"
    assert "UK_NHS" not in DEFAULT_ENTITIES
    assert found(text, entities=["UK_NHS"]) == [("UK_NHS", "943 476 5919")]


def test_only_the_requested_entities_are_reported():
    text = "mail a@example.com or call 212-555-0199"
    assert found(text, entities=["EMAIL"]) == [("EMAIL", "a@example.com")]


def test_min_score_drops_weak_pattern_matches():
    text = "reference 536221234 attached"
    assert found(text) == [("US_SSN", "536221234")]
    assert found(text, min_score=0.3) == []


def test_text_without_digits_at_signs_or_colons_has_no_findings():
    assert pii_detect("Nothing personal here, just a sentence.") == []
    assert pii_detect("") == []


def test_unknown_entities_are_refused_with_the_known_ones_listed():
    with pytest.raises(
        ValueError, match=r"unknown PII entities \['PASSPORT'\]; known: EMAIL, PHONE"
    ):
        pii_detect("x", entities=["EMAIL", "PASSPORT"])


def test_a_single_entity_name_must_come_in_a_list():
    with pytest.raises(ValueError, match=r"entities must be a list of names such as \['EMAIL'\]"):
        pii_detect("a@b.org", entities="EMAIL")


def test_names_are_refused_without_an_offline_model():
    with pytest.raises(ValueError, match="PERSON cannot be detected: no offline NER model"):
        pii_detect("Alice met Bob", entities=["PERSON"])


def test_unknown_phone_regions_are_refused():
    with pytest.raises(ValueError, match=r"unknown phone regions \['UK'\]"):
        pii_detect("call 020 7946 0958", config=PiiConfig(phone_regions=("US", "UK")))


def test_offsets_count_code_points_after_emoji():
    text = EMOJI + "mail a@b.org or 4111111111111111!"
    assert found(text) == [("EMAIL", "a@b.org"), ("CREDIT_CARD", "4111111111111111")]


def test_masking_replaces_findings_and_keeps_the_rest_of_the_text():
    text = EMOJI + "mail a@b.org or 4111111111111111!"
    assert pii_mask(text, pii_detect(text)) == EMOJI + "mail [EMAIL] or [CREDIT_CARD]!"


def test_pseudonyms_are_stable_per_value_and_reveal_nothing():
    first = "Contact a@b.org now"
    second = EMOJI + "again a@b.org, or c@d.org"
    masked_first, mapping_first = pii_pseudonymise(first, pii_detect(first), key=KEY)
    masked_second, mapping_second = pii_pseudonymise(second, pii_detect(second), key=KEY)
    [token] = mapping_first
    assert token.startswith("<EMAIL_") and token.endswith(">")
    assert "a@b" not in token and "b.org" not in token
    assert masked_first == f"Contact {token} now"
    assert masked_second.startswith(EMOJI + f"again {token}, or <EMAIL_")
    assert len(mapping_second) == 2
    assert mapping_second[token] == "a@b.org"


def test_pseudonyms_differ_between_projects():
    text = "a@b.org"
    _, ours = pii_pseudonymise(text, pii_detect(text), key=KEY)
    _, theirs = pii_pseudonymise(text, pii_detect(text), key=b"another-project-key-9876543210")
    assert set(ours).isdisjoint(theirs)


def test_reidentifying_with_the_mapping_restores_the_original_text():
    text = EMOJI + "IBAN GB82 WEST 1234 5698 7654 32, mail a@b.org"
    masked, mapping = pii_pseudonymise(text, pii_detect(text), key=KEY)
    assert "GB82" not in masked
    assert pii_reidentify(masked, mapping) == text
    assert pii_reidentify(masked, {}) == masked


def test_pseudonymising_needs_a_real_key():
    with pytest.raises(ValueError, match="key must be at least 16"):
        pii_pseudonymise("a@b.org", [PiiFinding("EMAIL", 0, 7, 1.0)], key=b"short")


def test_overlaps_keep_the_highest_score_then_the_longest():
    findings = [
        PiiFinding("PHONE", 0, 12, 0.4),
        PiiFinding("CREDIT_CARD", 0, 16, 1.0),
        PiiFinding("US_SSN", 20, 29, 0.5),
        PiiFinding("PHONE", 18, 29, 0.5),
        PiiFinding("EMAIL", 30, 35, 1.0),
    ]
    assert findings_resolve(findings) == [
        PiiFinding("CREDIT_CARD", 0, 16, 1.0),
        PiiFinding("PHONE", 18, 29, 0.5),
        PiiFinding("EMAIL", 30, 35, 1.0),
    ]


def test_masking_overlapping_findings_uses_the_resolved_ones():
    text = "4111111111111111"
    findings = [PiiFinding("PHONE", 0, 10, 0.4), PiiFinding("CREDIT_CARD", 0, 16, 1.0)]
    assert pii_mask(text, findings) == "[CREDIT_CARD]"


def test_masking_with_findings_from_another_text_is_refused():
    with pytest.raises(ValueError, match="EMAIL finding at 5:40 is outside the text"):
        pii_mask("short", [PiiFinding("EMAIL", 5, 40, 1.0)])


def test_detection_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("PII detection tried to reach the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    pii._analyzer.cache_clear()
    try:
        assert found("mail jane@example.com") == [("EMAIL", "jane@example.com")]
    finally:
        pii._analyzer.cache_clear()


@pytest.fixture(scope="module")
def person_model_dir(tmp_path_factory):
    """A tiny token-classification model, built here, that tags every word B-PER."""
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    path = tmp_path_factory.mktemp("ner-model")
    words = ["alice", "met", "bob", "in", "paris"]
    (path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n"
    )
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    labels = {0: "O", 1: "B-PER", 2: "I-PER"}
    config = BertConfig(
        vocab_size=len(words) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, id2label=labels, label2id={v: k for k, v in labels.items()},
    )  # fmt: skip
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 10.0, 0.0]))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_a_local_ner_model_adds_person_findings(person_model_dir):
    text = EMOJI + "Alice met Bob"
    config = PiiConfig(person_model_dir=person_model_dir)
    findings = pii_detect(text, config=config)
    assert {f.entity for f in findings} == {"PERSON"}
    assert {text[f.start : f.end] for f in findings} >= {"Alice", "Bob"}
    pii._analyzer.cache_clear()


def test_a_language_without_a_tokenizer_is_refused_by_name():
    with pytest.raises(ValueError, match="language 'zz' has no spaCy tokenizer"):
        pii_detect("mail a@b.org", language="zz")


def test_other_languages_use_the_same_recognisers():
    assert found("escríbeme a ana@ejemplo.es", language="es") == [("EMAIL", "ana@ejemplo.es")]


def test_an_ipv6_address_without_digits_still_passes_the_quick_filter():
    assert found("peer dead:beef::cafe connected") == [("IP_ADDRESS", "dead:beef::cafe")]


def test_a_lone_surrogate_before_a_finding_keeps_offsets_right():
    text = "broken \ud800 escape, mail a@b.org"
    assert found(text) == [("EMAIL", "a@b.org")]
    assert pii_mask(text, pii_detect(text)) == "broken \ud800 escape, mail [EMAIL]"
