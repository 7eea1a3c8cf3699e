"""The schemathesis run is left out of the suite unless asked for by its marker (``make fuzz``, which CI runs on
PostgreSQL after the suite): it takes minutes, and its answers are the document's, not one behaviour's."""

MARKER = "schemathesis"


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARKER}: fuzzes every operation of /openapi.json (make fuzz)")


def pytest_collection_modifyitems(config, items):
    if MARKER in (config.getoption("markexpr") or ""):
        return
    left_out = [item for item in items if item.get_closest_marker(MARKER)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker(MARKER)]
