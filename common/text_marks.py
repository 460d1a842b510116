"""A text cut into display segments: spans marked in place, and the words two texts differ in."""

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Words and the runs between them, so that joining the pieces gives the text back unchanged.
_PIECES = re.compile(r"\w+|\W+")


@dataclass(frozen=True)
class Segment:
    """A piece of text; ``marks`` names what covers it (empty: plain text), ``start`` its offset."""

    text: str
    start: int
    marks: tuple[str, ...] = ()

    @property
    def marked(self) -> bool:
        return bool(self.marks)


def text_marked(text: str, spans: Iterable[tuple[int, int, str]]) -> list[Segment]:
    """``text`` cut at every span boundary; each segment names the spans (start, end, name) over it.

    Offsets are code points, as findings and span answers store them. Spans outside the text are
    clipped to it, empty ones ignored; overlapping spans give a segment with several marks.
    """
    size = len(text)
    clipped = [
        (max(0, start), min(size, end), name)
        for start, end, name in spans
        if min(size, end) > max(0, start)
    ]
    cuts = sorted({0, size, *(start for start, _, _ in clipped), *(end for _, end, _ in clipped)})
    segments = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        marks = tuple(name for left, right, name in clipped if left <= start and end <= right)
        segments.append(Segment(text=text[start:end], start=start, marks=marks))
    return segments


def sentence_around(text: str, start: int, end: int, *, margin: int = 120) -> tuple[int, int]:
    """The bounds of the sentence holding ``text[start:end]``, at most ``margin`` code points
    beyond it on each side (a long paragraph without stops is cut, never shown whole)."""
    left_limit = max(0, start - margin)
    right_limit = min(len(text), end + margin)
    left = left_limit
    for stop in re.finditer(r"[.!?。！？\n]\s*", text[left_limit:start]):
        left = left_limit + stop.end()
    match = re.search(r"[.!?。！？\n]", text[end:right_limit])
    right = end + match.end() if match else right_limit
    return left, right


def text_diff(before: str, after: str) -> tuple[list[Segment], list[Segment]]:
    """The two texts cut into words and separators, with what only one of them has marked:
    "deleted" in ``before``, "inserted" in ``after`` (for side-by-side display)."""
    old, new = _PIECES.findall(before), _PIECES.findall(after)
    old_segments, new_segments = [], []
    old_at = new_at = 0
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old_text, new_text = "".join(old[i1:i2]), "".join(new[j1:j2])
        if old_text:
            marks = () if op == "equal" else ("deleted",)
            old_segments.append(Segment(text=old_text, start=old_at, marks=marks))
            old_at += len(old_text)
        if new_text:
            marks = () if op == "equal" else ("inserted",)
            new_segments.append(Segment(text=new_text, start=new_at, marks=marks))
            new_at += len(new_text)
    return old_segments, new_segments
