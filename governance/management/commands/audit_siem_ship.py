"""Ship the audit trail to the SIEM sinks of AUDIT_SIEM_SINKS, once or (--follow) until stopped."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.services.siem import RUN_SECONDS, audit_siem_ship, audit_siem_ship_all


class Command(BaseCommand):
    help = (
        "Send the audit events after each SIEM sink's cursor (AUDIT_SIEM_SINKS) and move the cursor. "
        "Without --follow: until caught up, trying failing sinks at once; exits 1 if one failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sink", help="Only this sink (one of AUDIT_SIEM_SINKS, written the same way).")
        parser.add_argument(
            "--follow",
            action="store_true",
            help="Keep shipping every AUDIT_SIEM_INTERVAL_SECONDS until stopped, with back-off for failing sinks.",
        )

    def handle(self, *args, sink=None, follow=False, **options):
        if not settings.AUDIT_SIEM_SINKS:
            raise CommandError("AUDIT_SIEM_SINKS is empty: configure a sink first (docs/siem.md).")
        if sink is not None and sink not in settings.AUDIT_SIEM_SINKS:
            raise CommandError(f"--sink {sink!r} is not in AUDIT_SIEM_SINKS ({', '.join(settings.AUDIT_SIEM_SINKS)}).")

        def run(force: bool):
            # Once: until caught up. Following: at most RUN_SECONDS a sink, so that one sink that never
            # catches up does not starve the others.
            seconds = RUN_SECONDS if follow else None
            if sink is not None:
                return [audit_siem_ship(sink=sink, force=force, seconds=seconds)]
            return audit_siem_ship_all(force=force, seconds=seconds)

        if not follow:
            results = run(force=True)
            self._report(results)
            failed = [result.sink for result in results if result.error]
            if failed:
                raise CommandError(f"Shipping failed for {', '.join(failed)}; their cursors stay where they were.")
            return
        while True:
            self._report(result for result in run(force=False) if result.shipped or (result.error and not result.waiting))
            time.sleep(settings.AUDIT_SIEM_INTERVAL_SECONDS)

    def _report(self, results) -> None:
        for result in results:
            if result.busy:
                self.stdout.write(f"{result.sink}: another shipper is at work on it; skipped.")
            elif result.error:
                self.stderr.write(f"{result.sink}: {result.error} (shipped through #{result.last_seq}).")
            else:
                self.stdout.write(f"{result.sink}: {result.shipped} events shipped, through #{result.last_seq}.")
            self.stdout.flush()
