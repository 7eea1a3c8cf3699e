from django.core.management.base import BaseCommand, CommandError

from openintent_site import doctor


class Command(BaseCommand):
    help = (
        "Check that this deployment can work, and say in plain words what is wrong: the database is reachable and "
        "migrated, the configuration passes Django's checks, the vault keys are configured and open every stored "
        "credential, Redis answers (with REDIS_URL), a Celery worker answers and Celery beat is ticking. Exits "
        "non-zero when something is wrong, each problem written to stderr."
    )

    # Doctor runs the system checks itself, among its own: failing them must be reported, not stop it before it
    # starts.
    requires_system_checks = []

    def handle(self, *args, **options):
        findings = doctor.run()
        width = max(len(finding.topic) for finding in findings)
        for finding in findings:
            line = f"{finding.status:<7}  {finding.topic:<{width}}  {finding.message}"
            (self.stderr if finding.problem else self.stdout).write(line)
        problems = [finding.topic for finding in findings if finding.problem]
        if problems:
            raise CommandError(f"{len(problems)} problem(s) found: {', '.join(dict.fromkeys(problems))}.")
        self.stdout.write("Everything checked is working.")
