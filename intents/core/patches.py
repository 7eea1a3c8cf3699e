"""Structured state operations (RFC-0001): ``set``, ``append`` and ``remove`` addressed by a path.

A path is a JSON pointer (``/a/b``, with ``~1`` for ``/`` and ``~0`` for ``~``); the bare forms the 0.9.1 client
sends (``a`` and ``a/b``) mean the same. Intermediate objects are created as needed. A patch that cannot apply
raises :class:`PatchError` and leaves the state as it was, because operations run on a copy.
"""

import copy

OPERATIONS = ("set", "append", "remove")


class PatchError(Exception):
    def __init__(self, index, message):
        super().__init__(message)
        self.index = index
        self.message = message


def split_path(path):
    segments = [segment for segment in path.split("/") if segment != ""]
    if path.startswith("/"):
        segments = [segment.replace("~1", "/").replace("~0", "~") for segment in segments]
    return segments


def normalise(patches):
    """Return the operations as ``{op, path, value}`` dicts with their paths as segment lists checked."""
    normalised = []
    for index, patch in enumerate(patches):
        segments = split_path(patch["path"])
        if not segments:
            raise PatchError(index, "path must name a key of the state")
        normalised.append({"op": patch["op"], "path": patch["path"], "value": patch.get("value")})
    return normalised


def apply_patches(state, patches):
    """Apply ``patches`` to a copy of ``state`` and return the copy."""
    result = copy.deepcopy(state)
    for index, patch in enumerate(patches):
        *parents, leaf = split_path(patch["path"])
        container = result
        walked = []
        for segment in parents:
            walked.append(segment)
            if segment not in container:
                if patch["op"] == "remove":
                    container = None
                    break
                container[segment] = {}
            container = container[segment]
            if not isinstance(container, dict):
                raise PatchError(index, f"'/{'/'.join(walked)}' is not an object, so the path cannot go through it")
        if container is None:
            continue
        if patch["op"] == "set":
            container[leaf] = patch["value"]
        elif patch["op"] == "append":
            target = container.setdefault(leaf, [])
            if not isinstance(target, list):
                raise PatchError(index, f"'{patch['path']}' is not a list, so nothing can be appended to it")
            target.append(patch["value"])
        else:
            container.pop(leaf, None)
    return result


def scopes_touched(patches):
    """The top-level keys the patches write: the scopes a lease can guard."""
    return {split_path(patch["path"])[0] for patch in patches}
