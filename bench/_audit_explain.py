"""EXPLAIN ANALYZE of the statements behind each auditor page of audit_scale.py, in one bench database.

    DATABASE_URL=... python -m bench._audit_explain <project id> <out.json>
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")


def explain_all(project_id: int) -> dict:
    """Each page case's main statement, its plan with actual rows and its execution time."""
    from bench._audit_measure import page_cases
    from governance.forms import AuditEventFilterForm
    from governance.selectors.audit import (
        EXPORT_CHUNK,
        PAGE_SIZE,
        audit_event_page,
        audit_event_page_query,
        audit_events_filter,
    )

    found = {}
    for name, kind, query in page_cases(project_id):
        if kind == "fragment":
            continue
        form = AuditEventFilterForm({key: str(value) for key, value in query.items()})
        if not form.is_valid():
            raise SystemExit(f"{name}: {form.errors.as_json()}")
        filters = form.filters()
        if kind == "export":
            # The first of the keyset chunks the export reads (governance.selectors.audit._in_seq_chunks).
            by_time = filters.since is not None or filters.until is not None
            order = ("created_at", "seq") if by_time else ("seq",)
            events = audit_events_filter(filters=filters).order_by(*order)[:EXPORT_CHUNK]
        else:
            before = audit_event_page(filters=filters).next_before if kind == "next" else None
            events = audit_event_page_query(filters=filters, before=before, limit=PAGE_SIZE + 1)
        plan = events.explain(analyze=True, buffers=True)
        lines = plan.splitlines()
        took = next((line for line in reversed(lines) if line.startswith("Execution Time")), "")
        found[name] = {"sql": str(events.query), "execution_ms": float(took.split()[2]) if took else None, "plan": lines}
    return found


if __name__ == "__main__":
    import django

    django.setup()
    Path(sys.argv[2]).write_text(json.dumps(explain_all(int(sys.argv[1])), indent=1))
