"""Find personal data in text with presidio's offline recognisers; mask or pseudonymise it."""

import functools
import hmac
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

# Names are NOT detected by default: presidio finds person names only through an NER model,
# and no such model ships on PyPI (spaCy's are downloaded from GitHub, GLiNER's from the
# Hugging Face hub), while this product must run with no network. Give PiiConfig a local
# Hugging Face token-classification model (for example one fine-tuned on CoNLL-2003 by the
# training app) to detect PERSON as well.

# Our entity name -> the presidio recogniser that finds it. Recognisers are built with our
# names, so masks, pseudonyms and stored findings keep them whatever presidio renames.
_RECOGNISERS = {
    "EMAIL": "EmailRecognizer",
    "PHONE": "PhoneRecognizer",
    "CREDIT_CARD": "CreditCardRecognizer",  # Luhn checksum
    "IBAN": "IbanRecognizer",  # ISO 13616 mod-97 checksum and per-country length
    "IP_ADDRESS": "IpRecognizer",  # IPv4 and IPv6
    "US_SSN": "UsSsnRecognizer",
    "US_ITIN": "UsItinRecognizer",
    "UK_NINO": "UkNinoRecognizer",
    "ES_NIF": "EsNifRecognizer",  # check letter
    "ES_NIE": "EsNieRecognizer",  # check letter
    "IT_FISCAL_CODE": "ItFiscalCodeRecognizer",  # check character
    "SG_NRIC_FIN": "SgFinRecognizer",
    "FI_PERSONAL_IDENTITY_CODE": "FiPersonalIdentityCodeRecognizer",  # check character
    # Purely numeric ids with a checksum: about one random number in ten passes it, so a
    # column of order numbers would be reported with full confidence. Ask for them by name.
    "UK_NHS": "NhsRecognizer",
    "CA_SIN": "CaSinRecognizer",
    "PL_PESEL": "PlPeselRecognizer",
    "SE_PERSONNUMMER": "SePersonnummerRecognizer",
    "DE_TAX_ID": "DeTaxIdRecognizer",
    "IN_AADHAAR": "InAadhaarRecognizer",
    "AU_TFN": "AuTfnRecognizer",
}
DEFAULT_ENTITIES = (
    "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "US_SSN", "US_ITIN", "UK_NINO",
    "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "SG_NRIC_FIN", "FI_PERSONAL_IDENTITY_CODE",
)  # fmt: skip
PERSON = "PERSON"
ENTITIES = (*_RECOGNISERS, PERSON)

# Every pattern above needs an "@" (email), two colons between hex digits (IPv6) or at
# least four digits (the shortest, an IPv4 address); texts with none of them, 98 % of
# GoEmotions comments, skip presidio, which costs about half a millisecond a text.
_MAYBE_PII = re.compile(r"@|\d(?:\D*\d){3}|[0-9A-Fa-f]*:[0-9A-Fa-f]*:")
# A phone number worth reporting has at least seven digits, maybe split by spaces, dots,
# dashes, slashes or brackets. Texts without such a run skip phonenumbers entirely: it is
# pure Python, parses every digit run once per region, and takes "1640" for a German number.
_PHONE_CANDIDATE = re.compile(r"\d(?:[\s().\-/]{0,2}\d){6}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(r"<([A-Z][A-Z0-9_]*)_([0-9a-f]{16})>")
_MIN_KEY_BYTES = 16
_PSEUDONYM_CONTEXT = b"sensitive-annotator/pii-pseudonym/v1\x00"


@dataclass(frozen=True, slots=True)
class PiiFinding:
    entity: str
    start: int  # code points, like Python str indices
    end: int
    score: float


@dataclass(frozen=True)
class PiiConfig:
    # Regions whose national phone formats are recognised (numbers written with +country
    # code are found whatever the list); each region is one more pass over the text.
    phone_regions: tuple[str, ...] = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    # A local Hugging Face token-classification model directory with PER labels; None: no names.
    person_model_dir: str | None = None
    # Raise scores when a context word stands near a match (needs spaCy's tokenizer, about a
    # third of the time spent on a text that holds digits); False scores the patterns alone.
    context_words: bool = True


DEFAULT_CONFIG = PiiConfig()


def pii_detect(
    text: str,
    *,
    entities: Iterable[str] | None = None,
    language: str = "en",
    min_score: float = 0.0,
    config: PiiConfig = DEFAULT_CONFIG,
) -> list[PiiFinding]:
    """Findings in text order, overlaps resolved; ``entities=None``: DEFAULT_ENTITIES (+ PERSON).

    Scores are presidio's: 1.0 when a checksum confirmed the value, lower for bare patterns
    (a nine-digit number scores 0.05 as a US SSN), raised when a context word ("phone",
    "ssn", "iban", ...) stands nearby.
    """
    wanted = _entities_check(entities, config)
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be between 0 and 1, got {min_score}")
    if not text or (PERSON not in wanted and not _MAYBE_PII.search(text)):
        return []
    if not text.isascii():
        # spaCy cannot encode a lone surrogate (left by a broken JSON escape); one U+FFFD per
        # surrogate keeps every offset where it was.
        text = _SURROGATE.sub("\ufffd", text)
    results = _analyzer(language, config).analyze(
        text=text, language=language, entities=sorted(wanted), score_threshold=min_score
    )
    findings = [
        PiiFinding(r.entity_type, r.start, r.end, float(r.score))
        for r in results
        if r.end > r.start
    ]
    return findings_resolve(findings)


def findings_resolve(findings: Iterable[PiiFinding]) -> list[PiiFinding]:
    """Drop findings overlapping a better one (higher score, longer, earlier); sort by start."""
    kept: list[PiiFinding] = []
    for finding in sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start)):
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def pii_mask(text: str, findings: Iterable[PiiFinding]) -> str:
    """Replace each finding by its entity in brackets, e.g. "[EMAIL]"; the rest is kept."""
    return _replace(text, findings, lambda finding, value: f"[{finding.entity}]")


def pii_pseudonymise(
    text: str, findings: Iterable[PiiFinding], *, key: bytes
) -> tuple[str, dict[str, str]]:
    """Replace findings by stable tokens such as "<EMAIL_7f3a9c0d1e2b4a65>"; return token -> value.

    The token is an HMAC-SHA256 of the exact value under ``key``: the same value gives the
    same token across rows of a project, and the token says nothing about the value without
    the key. Use a key of its own for this (not the blind-index key), so tokens cannot be
    joined to other columns. Reversal needs the mapping, which the caller stores encrypted.
    """
    if not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"key must be at least {_MIN_KEY_BYTES} secret bytes")
    mapping: dict[str, str] = {}

    def token(finding: PiiFinding, value: str) -> str:
        message = _PSEUDONYM_CONTEXT + finding.entity.encode() + b"\x00" + value.encode()
        name = f"<{finding.entity}_{hmac.digest(key, message, 'sha256').hex()[:16]}>"
        mapping[name] = value
        return name

    return _replace(text, findings, token), mapping


def pii_reidentify(text: str, mapping: dict[str, str]) -> str:
    """Put the original values back for tokens in ``mapping``; unknown tokens stay as they are."""
    return _TOKEN.sub(lambda match: mapping.get(match.group(0), match.group(0)), text)


def _replace(text: str, findings: Iterable[PiiFinding], replacement) -> str:
    parts, position = [], 0
    for finding in findings_resolve(findings):
        if not 0 <= finding.start < finding.end <= len(text):
            raise ValueError(
                f"{finding.entity} finding at {finding.start}:{finding.end} is outside the text "
                f"({len(text)} characters); findings must come from pii_detect on this same text"
            )
        parts.append(text[position : finding.start])
        parts.append(replacement(finding, text[finding.start : finding.end]))
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def _entities_check(entities: Iterable[str] | None, config: PiiConfig) -> frozenset[str]:
    if entities is None:
        return frozenset(DEFAULT_ENTITIES + ((PERSON,) if config.person_model_dir else ()))
    if isinstance(entities, str):
        raise ValueError(f"entities must be a list of names such as ['{entities}'], not a string")
    wanted = frozenset(entities)
    unknown = wanted - set(ENTITIES)
    if unknown:
        raise ValueError(f"unknown PII entities {sorted(unknown)}; known: {', '.join(ENTITIES)}")
    if PERSON in wanted and not config.person_model_dir:
        raise ValueError(
            "PERSON cannot be detected: no offline NER model is configured "
            "(set PiiConfig.person_model_dir to a local token-classification model)"
        )
    return wanted


@functools.lru_cache(maxsize=16)
def _analyzer(language: str, config: PiiConfig):
    """One presidio engine per language and config, built once per process (it takes seconds)."""
    # Imported here: presidio pulls in spaCy and transformers, several seconds that web
    # processes which never scan text should not pay.
    import presidio_analyzer.predefined_recognizers as predefined
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    recognisers = [_recogniser(predefined, entity, language, config) for entity in _RECOGNISERS]
    if config.person_model_dir:
        recognisers.append(_person_recogniser(language, config.person_model_dir))
    registry = RecognizerRegistry(recognizers=recognisers, supported_languages=[language])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # presidio warns about recognisers of other languages
        return AnalyzerEngine(
            registry=registry,
            nlp_engine=_nlp_engine(language, config),
            supported_languages=[language],
        )


def _recogniser(predefined, entity: str, language: str, config: PiiConfig):
    base = getattr(predefined, _RECOGNISERS[entity])
    if entity == "EMAIL":
        return _offline_email_recogniser(base)(supported_language=language, supported_entity=entity)
    if entity == "PHONE":
        return _gated_phone_recogniser(base)(
            supported_language=language,
            supported_entity=entity,
            supported_regions=config.phone_regions,
        )
    return base(supported_language=language, supported_entity=entity)


def _offline_email_recogniser(base):
    import tldextract

    # presidio checks the domain with tldextract's module-level extractor, which fetches the
    # public suffix list from the internet on first use; this one reads the snapshot that
    # ships inside the package and never touches the network or a cache directory.
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(base):
        def validate_result(self, pattern_text: str):
            return extractor(pattern_text).fqdn != ""

    return OfflineEmailRecognizer


def _gated_phone_recogniser(base):
    import phonenumbers

    class GatedPhoneRecognizer(base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            unknown = set(self.supported_regions) - phonenumbers.SUPPORTED_REGIONS
            if unknown:
                raise ValueError(
                    f"unknown phone regions {sorted(unknown)}; use ISO 3166 codes such as 'GB'"
                )

        def analyze(self, text, entities, nlp_artifacts=None):
            if not _PHONE_CANDIDATE.search(text):
                return []
            # The seven-digit rule holds for what is reported too, not only for the gate.
            results = super().analyze(text, entities, nlp_artifacts)
            return [r for r in results if _PHONE_CANDIDATE.search(text, r.start, r.end)]

    return GatedPhoneRecognizer


def _person_recogniser(language: str, model_dir: str):
    from presidio_analyzer.predefined_recognizers.ner import HuggingFaceNerRecognizer

    return HuggingFaceNerRecognizer(
        supported_entities=[PERSON],
        supported_language=language,
        model_name=model_dir,
        label_mapping={"PER": PERSON, "PERSON": PERSON},
    )


def _nlp_engine(language: str, config: PiiConfig):
    """A spaCy engine with only the rule-based tokenizer (no model download), or none at all."""
    import spacy
    from presidio_analyzer.nlp_engine import NoOpNlpEngine, SpacyNlpEngine
    from spacy.language import Language

    if not config.context_words:
        return NoOpNlpEngine(models=[{"lang_code": language, "model_name": "none"}])

    # presidio raises a score when a context word ("phone", "iban", "ssn") is near a match,
    # comparing lemmas; a blank pipeline has none, so the lower-cased word stands in for it.
    if not Language.has_factory("pii_lowercase_lemma"):

        @Language.component("pii_lowercase_lemma")
        def lowercase_lemma(doc):
            for token in doc:
                token.lemma_ = token.lower_
            return doc

    class TokenizerOnlyNlpEngine(SpacyNlpEngine):
        def load(self) -> None:
            try:
                nlp = spacy.blank(language)
            except ImportError as error:
                raise ValueError(f"language {language!r} has no spaCy tokenizer: {error}") from None
            nlp.add_pipe("pii_lowercase_lemma")
            self.nlp = {language: nlp}

    return TokenizerOnlyNlpEngine(models=[{"lang_code": language, "model_name": "blank"}])
