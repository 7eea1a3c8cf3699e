"""Fail on any cycle of imports between the project's files; run from the project root (`make lint` does).

import-linter's `acyclic_siblings` contract is not enough here: it squashes each package's children into one
node (so it reports package-level cycles that are no file-level cycle) and never looks at a package's
`__init__` against its own submodules, nor across root packages. This script builds the import graph with grimp
(import-linter's graph library; it includes imports made inside functions and under TYPE_CHECKING) and reports
every strongly connected component of files, with the import lines that close it. Migrations are left out.

The packages are read from `[tool.importlinter]` in ./pyproject.toml: the root packages, and every layer of
its layers contracts that exists. A layer package that exists but is not a root package fails the check too,
since lint-imports would otherwise skip its imports without a word.

Exit status: 0 with no cycles, 1 otherwise.
"""

import importlib.util
import sys
import tomllib
from collections import deque
from pathlib import Path

import grimp

CONFIG = Path("pyproject.toml")


def layer_packages(contracts):
    """The top-level packages named in the layers contracts, in order, parentheses (optional layers) removed."""
    names = []
    for contract in contracts:
        if contract.get("type") != "layers":
            continue
        for layer in contract.get("layers", []):
            for tail in layer.replace("|", ":").split(":"):
                name = tail.strip().strip("()").split(".")[0]
                if name and name not in names:
                    names.append(name)
    return names


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def module_file(module, roots):
    """The module's file, relative to the working directory where possible."""
    top, *rest = module.split(".")
    path = roots[top].joinpath(*rest)
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def is_migration(module):
    return "migrations" in module.split(".")


def strongly_connected_components(nodes, edges):
    """Tarjan's algorithm, iterative; yields each component as a set."""
    index, lowlink, on_stack, stack = {}, {}, set(), []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = lowlink[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    lowlink[node] = min(lowlink[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                yield component


def shortest_cycle(start, component, edges):
    """The shortest path start -> ... -> start inside the component."""
    previous = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(edges[node] & component):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return [start]


def main():
    sys.path.insert(0, str(Path.cwd()))
    settings = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]
    root_packages = settings.get("root_packages") or [settings["root_package"]]
    layers = layer_packages(settings.get("contracts", []))

    problems = 0
    roots = {}
    for name in dict.fromkeys([*root_packages, *layers]):
        directory = package_dir(name)
        if directory is not None:
            roots[name] = directory
        if directory is not None and name not in root_packages:
            problems += 1
            print(
                f"Package {name} exists but is not in [tool.importlinter] root_packages in {CONFIG}, so "
                f"lint-imports does not check its imports against the layers: add it there."
            )

    graph = grimp.build_graph(*roots, cache_dir=None)
    modules = {module for module in graph.modules if not is_migration(module)}
    edges = {module: graph.find_modules_directly_imported_by(module) & modules for module in modules}

    cycles = [
        component
        for component in strongly_connected_components(modules, edges)
        if len(component) > 1 or next(iter(component)) in edges[next(iter(component))]
    ]
    for component in sorted(cycles, key=sorted):
        members = sorted(component)
        example = shortest_cycle(members[0], component, edges)
        print(f"Import cycle between {len(members)} files: {', '.join(module_file(m, roots) for m in members)}")
        print(f"  e.g. {' -> '.join(example)}")
        for importer in members:
            for imported in sorted(edges[importer] & component):
                details = graph.get_import_details(importer=importer, imported=imported)
                for detail in details or [{"line_number": "?", "line_contents": f"(imports {imported})"}]:
                    print(f"  {module_file(importer, roots)}:{detail['line_number']}: {detail['line_contents']}")
        print()
    problems += len(cycles)

    checked = ", ".join(roots)
    if cycles:
        print(f"{len(cycles)} import cycle(s) in {checked} (migrations excluded).")
    else:
        print(f"No import cycles in {checked} (migrations excluded).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
