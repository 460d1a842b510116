"""Shared pieces of the labelling browser tests: projects' texts, suggestions, key presses and text selection."""


from playwright.sync_api import expect

from annotation.models import Annotation, Prediction

REVIEWS = [
    "Absolutely wonderful service, the staff were kind and quick.",
    "The product broke after one day and support never answered.",
    "The office is on the third floor of the building.",
    "I am delighted with how smooth the new release feels.",
    "Awful experience, I want my money back.",
    "The train leaves at 8:15 from platform two.",
]
TOPICS = [{"name": "billing"}, {"name": "delivery"}, {"name": "quality"}, {"name": "support"}]
ENTITIES = [{"name": "PER"}, {"name": "LOC"}, {"name": "ORG"}]
# An emoji before the names: JavaScript counts it as two units, the server as one code point.
SPAN_TEXT = "Café 🎉 Ada Lovelace visited Paris and the Musée d'Orsay."


def _predict(item, value: dict, score: float = 0.9) -> Prediction:
    prediction = Prediction(project=item.project, item=item, model_version="test-v1", score=score)
    prediction.value = value
    prediction.save()
    return prediction


def _open(browser_session, user, project):
    page = browser_session.login(user)
    page.goto(f"/projects/{project.pk}/label/")
    expect(page.locator("#annotation-form")).to_be_visible()
    return page


def _item_id(page) -> int:
    return int(page.locator("#annotation-form").get_attribute("data-item-id"))


def _press_and_wait(page, *keys: str) -> int:
    """Press the keys on the current item and wait until another item (or the empty queue) replaces it."""
    item_id = _item_id(page)
    page.wait_for_timeout(60)  # a human-like pause, so the measured lead time is above zero
    for key in keys:
        page.keyboard.press(key)
    expect(page.locator(f'#annotation-form[data-item-id="{item_id}"]')).to_have_count(0)
    return item_id


def _answer(item_id: int, user) -> Annotation:
    return Annotation.objects.get(item_id=item_id, annotator=user)


def _spans(annotation: Annotation, text: str) -> list[tuple[str, str]]:
    return [(text[span["start"] : span["end"]], span["label"]) for span in annotation.value["spans"]]


def _select(page, fragment: str, occurrence: int = 0) -> None:
    """Select a fragment of the item text the way a script would (UTF-16 offsets, any text node)."""
    page.evaluate(
        """([fragment, occurrence]) => {
            const walker = document.createTreeWalker(document.getElementById("item-text"), NodeFilter.SHOW_TEXT);
            let node, seen = 0;
            while ((node = walker.nextNode())) {
                let at = node.textContent.indexOf(fragment);
                while (at !== -1 && seen < occurrence) { seen++; at = node.textContent.indexOf(fragment, at + 1); }
                if (at !== -1) {
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + fragment.length);
                    window.getSelection().removeAllRanges();
                    window.getSelection().addRange(range);
                    return;
                }
            }
            throw new Error("fragment not in the text: " + fragment);
        }""",
        [fragment, occurrence],
    )


def _point_in(page, fragment: str, index: int, occurrence: int = 0) -> dict:
    """The centre of one character of the item text on screen, scrolled into view first."""
    return page.evaluate(
        """([fragment, index, occurrence]) => {
            const root = document.getElementById("item-text");
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let node, at = -1, seen = 0;
            while (at === -1 && (node = walker.nextNode())) {
                at = node.textContent.indexOf(fragment);
                while (at !== -1 && seen < occurrence) { seen++; at = node.textContent.indexOf(fragment, at + 1); }
            }
            at += index;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + 1);
            const box = range.getBoundingClientRect();
            const view = root.getBoundingClientRect();
            if (box.top < view.top || box.bottom > view.bottom) {
                root.scrollTop += box.top - view.top - view.height / 2;
            }
            const shown = range.getBoundingClientRect();
            return {x: shown.x + shown.width / 2, y: shown.y + shown.height / 2};
        }""",
        [fragment, index, occurrence],
    )


def _drag(page, start: dict, end: dict) -> None:
    # Whole pixels, as a real mouse reports them: Chromium starts no drag-selection from a synthetic
    # mouse-down at a fractional x.
    page.mouse.move(round(start["x"]), round(start["y"]))
    page.mouse.down()
    page.mouse.move(round(end["x"]), round(end["y"]), steps=6)
    page.mouse.up()
