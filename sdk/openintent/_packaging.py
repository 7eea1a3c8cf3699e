"""The bundled SDK's distribution, and a warning when PyPI's ``openintent`` shares its import name.

Both install a package named ``openintent``: whichever was installed last has overwritten the other's files, so
the environment holds a mixture of the two. PyPI's is recognised as a distribution named ``openintent`` installed
from an index (a local or editable install records its source in ``direct_url.json``; an index install does not).
"""

from __future__ import annotations

import warnings
from importlib import metadata

DISTRIBUTION = "openintent-django"


def warn_if_shadowed() -> None:
    try:
        other = metadata.distribution("openintent")
    except metadata.PackageNotFoundError:
        return
    if other.read_text("direct_url.json") is not None:
        return
    warnings.warn(
        f"PyPI's openintent {other.version} is installed in the same environment as the bundled SDK "
        f"({DISTRIBUTION}); both install the package `openintent`, so one has overwritten the other's files. "
        f"Give each its own virtualenv: pip uninstall openintent {DISTRIBUTION}, then pip install ./sdk.",
        RuntimeWarning,
        stacklevel=3,
    )
