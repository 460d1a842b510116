"""id_ranges writes item ids as [first, last] runs, in the order the ids come."""

from common.id_ranges import id_ranges, id_ranges_add


def test_id_ranges_compress_runs_of_consecutive_ids():
    assert id_ranges([1, 2, 3, 7, 9, 10]) == [[1, 3], [7, 7], [9, 10]]
    assert id_ranges([]) == []


def test_id_ranges_keep_the_order_given_so_unsorted_ids_give_more_runs():
    assert id_ranges([5, 6, 1, 2]) == [[5, 6], [1, 2]]
    assert id_ranges(sorted([5, 6, 1, 2])) == [[1, 2], [5, 6]]


def test_adding_ids_one_at_a_time_gives_the_same_runs_as_all_at_once():
    runs: list[list[int]] = []
    for item_id in (4, 5, 6, 8, 9, 20):
        id_ranges_add(runs, item_id)
    assert runs == id_ranges([4, 5, 6, 8, 9, 20]) == [[4, 6], [8, 9], [20, 20]]
