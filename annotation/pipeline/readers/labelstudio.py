"""Label Studio JSON export tasks turned into rows with their annotations and predictions."""

# Format: https://labelstud.io/guide/task_format ("Label Studio JSON format of annotated tasks").

from annotation.pipeline.readers.base import Context, ImportRow, external_id_check, text_check

SUPPORTED_RESULTS = ("choices", "labels")


def is_labelstudio_task(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("data"), dict)


def _utf16_to_code_points(text: str, *offsets: int) -> list[int | None]:
    mapping, position = {0: 0}, 0
    for index, char in enumerate(text, start=1):
        position += 2 if ord(char) > 0xFFFF else 1
        mapping[position] = index
    return [mapping.get(offset) for offset in offsets]


def _span_offsets(ctx: Context, row: int, where: str, value: dict, text: str) -> tuple[int, int]:
    start, end = value.get("start"), value.get("end")
    if any(isinstance(o, bool) or not isinstance(o, int) for o in (start, end)):
        raise ctx.error(row, where, "a 'labels' result needs integer 'start' and 'end' offsets")
    quoted = value.get("text")
    if 0 <= start < end <= len(text) and (quoted is None or text[start:end] == quoted):
        return start, end
    # Label Studio versions before the fix for HumanSignal/label-studio#1347 counted UTF-16 code
    # units (JavaScript string indices), so offsets after an emoji are off; convert when that
    # explains the quote.
    converted = _utf16_to_code_points(text, start, end)
    if None not in converted and quoted is not None and text[converted[0] : converted[1]] == quoted:
        return converted[0], converted[1]
    raise ctx.error(
        row,
        where,
        f"the span {start}-{end} does not match the task's text (length {len(text)}) "
        "or the text it quotes",
    )


def _string_list(ctx: Context, row: int, where: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ctx.error(row, where, "must be a list of strings")
    return value


def _value(ctx: Context, row: int, where: str, results, text: str) -> dict:
    """Label Studio results as an annotation value: {"labels": [...]} and/or {"spans": [...]}."""
    if not isinstance(results, list):
        raise ctx.error(row, f"{where}.result", "must be a list")
    labels: list[str] = []
    spans: list[dict] = []
    kinds = set()
    for position, result in enumerate(results, start=1):
        at = f"{where}.result[{position}]"
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            raise ctx.error(row, at, "must be an object with a 'value' object")
        kind, value = result.get("type"), result["value"]
        if kind == "choices":
            for label in _string_list(ctx, row, f"{at}.value.choices", value.get("choices")):
                if label not in labels:
                    labels.append(label)
        elif kind == "labels":
            start, end = _span_offsets(ctx, row, at, value, text)
            for label in _string_list(ctx, row, f"{at}.value.labels", value.get("labels")):
                spans.append({"start": start, "end": end, "label": label})
        else:
            raise ctx.error(
                row,
                at,
                f"result type '{kind}' is not supported; "
                f"only {' and '.join(SUPPORTED_RESULTS)} results import",
            )
        kinds.add(kind)
    out: dict = {}
    if "choices" in kinds:
        out["labels"] = labels
    if "labels" in kinds:
        out["spans"] = sorted(spans, key=lambda span: (span["start"], span["end"], span["label"]))
    return out


def _annotator(completed_by) -> str | None:
    # Exports give the user id, or with annotator details an object with id and email.
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("email") or completed_by.get("id")
    return None if completed_by is None or completed_by == "" else str(completed_by)


def _score(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _entries(ctx: Context, row: int, task: dict, key: str) -> list[tuple[str, dict]]:
    entries = task.get(key) or []
    if not isinstance(entries, list):
        raise ctx.error(row, key, "must be a list")
    out = []
    for position, entry in enumerate(entries, start=1):
        where = f"{key}[{position}]"
        if not isinstance(entry, dict):
            raise ctx.error(row, where, "must be an object")
        out.append((where, entry))
    return out


def row_from_task(ctx: Context, row: int, task: dict) -> ImportRow:
    data = task.get("data")
    if not isinstance(data, dict):
        raise ctx.error(row, "data", "a Label Studio task needs a 'data' object")
    key = ctx.labelstudio_text_key
    if key not in data:
        keys = ", ".join(sorted(map(str, data))[:10]) or "none"
        raise ctx.error(
            row,
            f"data.{key}",
            f"is missing (the task's data has: {keys}); choose the key holding the text",
        )
    text = text_check(ctx, row, data[key], f"data.{key}")
    external_id = (
        external_id_check(ctx, row, task["id"], "id") if task.get("id") is not None else ""
    )
    annotations = [
        {
            "annotator": _annotator(entry.get("completed_by")),
            "value": _value(ctx, row, where, entry.get("result"), text),
        }
        for where, entry in _entries(ctx, row, task, "annotations")
        # A cancelled (skipped) annotation holds no labels.
        if not entry.get("was_cancelled")
    ]
    predictions = [
        {
            "model_version": None
            if entry.get("model_version") is None
            else str(entry["model_version"]),
            "value": _value(ctx, row, where, entry.get("result"), text),
            "score": _score(entry.get("score")),
        }
        for where, entry in _entries(ctx, row, task, "predictions")
    ]
    return ImportRow(
        row=row,
        text=text,
        external_id=external_id,
        meta={name: value for name, value in data.items() if name != key},
        id_field="id",
        annotations=annotations,
        predictions=predictions,
        member=ctx.member,
    )
