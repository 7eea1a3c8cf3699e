from django.core.management.base import BaseCommand, CommandError

from openintent_site import jobs


class Command(BaseCommand):
    help = (
        "Run every periodic job once, now, as Celery beat would send it (lapsed leases, access grants, webhook "
        "deliveries, task timeouts and retries, checkpoint timeouts, agent health, memory expiry, tool grants...), "
        "printing what each did. Safe beside a running beat and worker: every job may run in several processes at "
        "once. Exits non-zero when a job failed (the others still run)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "names",
            nargs="*",
            metavar="JOB",
            help="Run only these jobs (their CELERY_BEAT_SCHEDULE names, as --list prints them).",
        )
        parser.add_argument(
            "--list", action="store_true", dest="list_jobs", help="List the jobs in the order they run, and exit."
        )

    def handle(self, *args, names, list_jobs, **options):
        registered = jobs.registered()
        if list_jobs:
            for job in registered:
                self.stdout.write(f"{job.name}: {job.counts}")
            return
        known = {job.name for job in registered}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(f"No periodic job named {', '.join(unknown)}; the jobs are {', '.join(sorted(known))}.")
        failed = []
        for job in registered:
            if names and job.name not in names:
                continue
            try:
                result = job.function()
            except Exception as error:
                # One job failing (its table locked, the broker down) must not keep the others from running.
                failed.append(job.name)
                self.stderr.write(f"{job.name}: failed: {type(error).__name__}: {error}")
                continue
            self.stdout.write(f"{job.name}: {jobs.describe(job, result)}")
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}.")
