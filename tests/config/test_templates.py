"""Template rules that hold for every template, checked by reading them all."""

import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]

# {% for ... in something.items %} (or .keys/.values), also with a filter after it.
DICT_METHOD_LOOP = re.compile(r"{%-?\s*for\s[^%]*?\sin\s+[^%|\s]+\.(items|keys|values)\b[^%]*%}")


def _templates() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_there_are_templates_to_check():
    assert len(_templates()) > 30


def test_no_template_iterates_a_dict_through_its_items_keys_or_values_method():
    offenders = []
    for path in _templates():
        text = path.read_text()
        for match in DICT_METHOD_LOOP.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert not offenders, (
        "A template looks up d['items'] before d.items(), so a dict with an 'items' (or 'keys', "
        "'values') key breaks these loops; write `{% load governance_tags %}` and "
        "`{% for key, value in mapping|entries %}` instead:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize("key", ["items", "keys", "values"])
def test_the_label_errors_partial_lists_an_error_of_a_field_named_like_a_dict_method(key):
    html = render_to_string(
        "annotation/partials/_label_errors.html",
        {"label_form": type("Form", (), {"errors": {key: ["is wrong"], "name": ["is missing"]}})()},
    )
    assert f"{key}: is wrong" in html and "name: is missing" in html
