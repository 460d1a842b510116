"""The confusion matrix of a model with many labels: its most confused labels drawn first, the whole on request."""

from training.views.charts import CONFUSION_SHOWN, confused_labels, confusion_heatmap


def _confusion(size: int, mistakes: dict[tuple[int, int], int]) -> dict:
    matrix = [[10 if row == column else 0 for column in range(size)] for row in range(size)]
    for (row, column), count in mistakes.items():
        matrix[row][column] = count
    return {"labels": [f"label {index}" for index in range(size)], "matrix": matrix}


def test_a_small_matrix_is_drawn_whole():
    assert confused_labels(_confusion(CONFUSION_SHOWN, {(0, 1): 3})) is None


def test_a_large_matrix_keeps_the_labels_most_often_confused_as_truth_or_prediction_in_label_order():
    confusion = _confusion(40, {(30, 2): 9, (7, 30): 4, (39, 30): 1})
    assert confused_labels(confusion, count=4) == [2, 7, 30, 39]


def test_the_drawn_part_shades_each_cell_by_its_share_of_the_whole_true_row():
    confusion = _confusion(40, {(30, 2): 10})
    svg = str(confusion_heatmap(confusion, only=[2, 30]))
    assert 'id="confusion-matrix-most"' in svg
    assert "label 30 → label 2: 10" in svg and "label 5" not in svg
    assert str(confusion_heatmap(confusion)).count("→") == 40 * 40
