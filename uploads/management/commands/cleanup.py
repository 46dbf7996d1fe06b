"""`manage.py cleanup [--dry-run] [--trace-days N]`: free the space PremRunner no longer needs."""

from django.core.management.base import BaseCommand

from uploads.services.cleanup import run_cleanup

DEFAULT_TRACE_DAYS = 30


class Command(BaseCommand):
    help = (
        "Remove expired temporary uploads, files no model owns, failed models and traces "
        "older than --trace-days days."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only list what would be removed."
        )
        parser.add_argument(
            "--trace-days",
            type=int,
            default=DEFAULT_TRACE_DAYS,
            help=f"Remove traces older than this many days (default {DEFAULT_TRACE_DAYS}; "
            "-1 keeps every trace).",
        )

    def handle(self, *args, dry_run: bool, trace_days: int, **options) -> None:
        report = run_cleanup(dry_run=dry_run, trace_days=trace_days if trace_days >= 0 else None)
        verb = "Would remove" if dry_run else "Removed"
        for name in report.expired_uploads:
            self.stdout.write(f"{verb} expired upload: {name}")
        for path in report.orphan_files:
            self.stdout.write(f"{verb} orphan file: {path}")
        for name in report.failed_models:
            self.stdout.write(f"{verb} failed model: {name}")
        self.stdout.write(
            f"{verb} {len(report.expired_uploads)} expired uploads, "
            f"{len(report.orphan_files)} orphan files, {len(report.failed_models)} failed "
            f"models and {report.old_traces} old traces."
        )
