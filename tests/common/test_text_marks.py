"""Display segments: spans marked in place, sentences around a finding, word differences."""

from common.text_marks import Segment, sentence_around, text_diff, text_marked


def test_marked_segments_join_back_to_the_text_and_name_their_spans():
    text = "Call Anna Berg at 040-123."
    segments = text_marked(text, [(5, 14, "PERSON"), (18, 25, "PHONE")])
    assert "".join(segment.text for segment in segments) == text
    assert [(s.text, s.marks) for s in segments if s.marked] == [("Anna Berg", ("PERSON",)), ("040-123", ("PHONE",))]
    assert segments[1].start == 5


def test_overlapping_spans_give_a_segment_with_both_marks_and_out_of_range_spans_are_clipped():
    segments = text_marked("abcdef", [(0, 4, "A"), (2, 6, "B"), (5, 99, "C"), (3, 3, "empty")])
    assert [(s.text, s.marks) for s in segments] == [
        ("ab", ("A",)), ("cd", ("A", "B")), ("e", ("B",)), ("f", ("B", "C"))
    ]


def test_the_sentence_around_a_finding_stops_at_full_stops_on_both_sides():
    text = "First one. Mail me at a@b.org today! Last."
    start = text.index("a@b.org")
    left, right = sentence_around(text, start, start + 7)
    assert text[left:right].strip() == "Mail me at a@b.org today!"


def test_a_long_paragraph_is_cut_at_the_margin():
    text = "x" * 500 + "FOUND" + "y" * 500
    left, right = sentence_around(text, 500, 505, margin=20)
    assert (left, right) == (480, 525)


def test_the_word_diff_marks_only_the_changed_words_on_each_side():
    before, after = text_diff("The parcel came late again.", "The parcel came early again!")
    assert "".join(s.text for s in before) == "The parcel came late again."
    assert "".join(s.text for s in after) == "The parcel came early again!"
    assert [s.text for s in before if s.marked] == ["late", "."]
    assert [s.text for s in after if s.marked] == ["early", "!"]
    assert all(s.marks == ("inserted",) for s in after if s.marked)
    assert before[0] == Segment(text="The parcel came ", start=0)
