"""The folders the server writes to, created once Django is set up rather than when the settings are imported."""

from pathlib import Path

from django.conf import settings

# Transport options of kombu's filesystem broker that name folders (in and out are the same folder here).
_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def prepare_var_dirs():
    """Create ``VAR_DIR``, the folder of beat's schedule file and, on the filesystem broker, the broker's folders.

    Idempotent. Beat's folder is made on every set-up: beat runs on PostgreSQL and Redis as well, and cannot open
    its schedule file in a folder that does not exist.
    """
    folders = [Path(settings.VAR_DIR)]
    schedule_file = getattr(settings, "CELERY_BEAT_SCHEDULE_FILENAME", None)
    if schedule_file:
        folders.append(Path(schedule_file).parent)
    if (getattr(settings, "CELERY_BROKER_URL", None) or "").startswith("filesystem://"):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folders.extend(Path(options[key]) for key in _BROKER_FOLDERS if options.get(key))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
