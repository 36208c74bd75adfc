"""The package layout drawn from the imports: no two packages of the zoo import each other (directly or
through others), and the commands stay apart from the library."""

import ast
import pathlib

ZOO = pathlib.Path(__file__).resolve().parents[1] / "zoo"


def package_of(module: str) -> str:
    """zoo.inference.reader -> zoo.inference; top-level modules (zoo.cli, zoo.loading) stay themselves."""
    return ".".join(module.split(".")[:2])


def import_graph() -> dict[str, set[str]]:
    """package -> the zoo packages its modules import (at the top or inside functions: both are dependencies)."""
    edges: dict[str, set[str]] = {}
    for path in ZOO.rglob("*.py"):
        module = ".".join(path.relative_to(ZOO.parent).with_suffix("").parts).removesuffix(".__init__")
        source = package_of(module)
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                target = package_of(name)
                if name.startswith("zoo.") and target != source:
                    edges.setdefault(source, set()).add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every package that can reach itself, with the path (depth-first search)."""
    found = []

    def walk(node: str, path: list[str]) -> None:
        for target in sorted(edges.get(node, ())):
            if target == path[0]:
                found.append([*path, target])
            elif target not in path and len(path) < 12:
                walk(target, [*path, target])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_no_package_of_the_zoo_imports_itself_through_others():
    edges = import_graph()
    assert {"zoo.config", "zoo.data", "zoo.inference", "zoo.tracking"} <= set(edges)  # the graph was read
    assert not cycles(edges), "\n".join(" -> ".join(cycle) for cycle in cycles(edges)[:10])


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})[0] == ["a", "b", "c", "a"]


def test_the_library_never_imports_a_command_and_every_command_has_main():
    library = [path for path in ZOO.rglob("*.py") if "commands" not in path.parts and path.parent != ZOO]
    offenders = [str(path.relative_to(ZOO)) for path in library if "zoo.commands" in path.read_text()
                 and any(isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zoo.commands")
                         for node in ast.walk(ast.parse(path.read_text())))]
    assert not offenders
    for path in (ZOO / "commands").glob("[!_]*.py"):
        functions = {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}
        assert "main" in functions, path.name
