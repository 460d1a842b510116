"""CoNLL-style files: a token and its tags per line, blank lines between sentences, BIO spans."""

from collections.abc import Iterator

from annotation.pipeline.readers.base import (
    TAG_SCHEMES,
    Context,
    ImportRow,
    ImportRowError,
    text_check,
)
from annotation.pipeline.readers.streams import Source, text_lines

Item = ImportRow | ImportRowError
DOCSTART = "-DOCSTART-"


class _Unit:
    """The sentence or document being gathered: its tokens, tags and the lines they came from."""

    def __init__(self):
        self.sentences: list[tuple[list[str], list[str], list[int]]] = []
        self.first_line: int | None = None
        self.chars = 0
        self.error: ImportRowError | None = None

    def sentence_start(self) -> None:
        if not self.sentences or self.sentences[-1][0]:
            self.sentences.append(([], [], []))

    @property
    def empty(self) -> bool:
        return not any(tokens for tokens, _, _ in self.sentences)


def _tag(ctx: Context, number: int, columns: list[str]) -> str:
    index = ctx.conll.tag_column
    index = index if index >= 0 else len(columns) + index
    if len(columns) < 2 or not 0 < index < len(columns):
        raise ctx.error(
            number,
            None,
            f"expected a token and a tag in column {ctx.conll.tag_column}, "
            f"found {len(columns)} column(s)",
        )
    return columns[index]


def _spans(ctx: Context, sentence, offset: int) -> list[dict]:
    """Character spans from BIO tags; IOB2 (BIO) requires B- first, IOB1 lets I- begin an entity."""
    strict = ctx.conll.tag_scheme in ("iob2", "bio")
    spans: list[dict] = []
    previous = "O"
    for token, tag, number in zip(*sentence, strict=True):
        start, end = offset, offset + len(token)
        offset = end + 1
        if tag == "O":
            previous = tag
            continue
        prefix, dash, label = tag.partition("-")
        if not dash or prefix not in ("B", "I") or not label:
            raise ctx.error(number, "tag", f"'{tag}' is not O, B-TYPE or I-TYPE")
        continues = prefix == "I" and previous[2:] == label and previous != "O"
        if prefix == "I" and not continues and strict:
            raise ctx.error(
                number,
                "tag",
                f"'{tag}' follows '{previous}'; in IOB2 (BIO) an entity begins with B-{label} "
                "(choose the IOB1 scheme for files where I- begins an entity)",
            )
        if continues:
            spans[-1]["end"] = end
        else:
            spans.append({"start": start, "end": end, "label": label})
        previous = tag
    return spans


def _row(ctx: Context, unit: _Unit) -> ImportRow:
    texts, spans, offset = [], [], 0
    for sentence in unit.sentences:
        if not sentence[0]:
            continue
        text = " ".join(sentence[0])
        spans.extend(_spans(ctx, sentence, offset))
        texts.append(text)
        offset += len(text) + 1
    text = text_check(ctx, unit.first_line, "\n".join(texts))
    return ImportRow(row=unit.first_line, text=text, spans=spans, member=ctx.member)


def read_conll(source: Source, encoding: str, ctx: Context) -> Iterator[Item]:
    if ctx.conll.tag_scheme not in TAG_SCHEMES:
        raise ctx.error(
            None,
            None,
            f"unknown tag scheme '{ctx.conll.tag_scheme}'; use one of {', '.join(TAG_SCHEMES)}",
            fatal=True,
        )
    documents = ctx.conll.documents
    unit = _Unit()

    def flush() -> Iterator[Item]:
        nonlocal unit
        finished, unit = unit, _Unit()
        if finished.error is not None:
            yield finished.error
        elif not finished.empty:
            try:
                yield _row(ctx, finished)
            except ImportRowError as error:
                yield error

    for line in text_lines(source, ctx, encoding):
        if isinstance(line, ImportRowError):
            unit.error = unit.error or line
            continue
        number, text = line
        columns = text.split()
        if not columns:
            if documents:
                unit.sentence_start()
            else:
                yield from flush()
            continue
        if columns[0] == DOCSTART:
            yield from flush()
            if documents:
                unit.first_line = number
            continue
        if unit.first_line is None:
            unit.first_line = number
        if unit.error is not None:
            continue
        try:
            tag = _tag(ctx, number, columns)
        except ImportRowError as error:
            unit.error = error
            continue
        unit.chars += len(columns[0]) + 1
        if unit.chars > ctx.max_text_chars + 1:
            # Stop gathering: a file without blank lines must not become one huge item in memory.
            unit.error = ctx.error(
                unit.first_line,
                "text",
                f"is longer than the limit of {ctx.max_text_chars} characters",
            )
            continue
        if not unit.sentences:
            unit.sentence_start()
        tokens, tags, lines = unit.sentences[-1]
        tokens.append(columns[0])
        tags.append(tag)
        lines.append(number)
    yield from flush()
