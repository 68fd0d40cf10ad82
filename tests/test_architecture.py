"""The shape of the code: what may import what (ARCHITECTURE.md §3 and §5).

Read from the source with `ast`, imports inside functions included, so that a newcomer's
shortcut (an import tucked into a method to dodge a cycle) fails here rather than in review.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ["newsroom", "members"]


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules():
    return {
        module_name(path): path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }


def imported_names(path, name):
    """Every module name `path` imports, at module or function level, absolute."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.fixture(scope="module")
def graph():
    modules = project_modules()
    return {
        name: {target for target in imported_names(path, name) if target in modules}
        for name, path in modules.items()
    }


def reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_module_of_the_project_imports_itself_back(graph):
    cycles = sorted(name for name in graph if name in reachable(graph, name))
    assert cycles == []


# What a module that settings import must not use: it would read settings (or the URLs and
# models, which read them) while the settings are still being built.
NOT_FOR_SETTINGS = {"django.db.models", "django.apps", "django.conf", "django.urls"}


def test_settings_import_no_module_that_imports_models_or_reads_settings(graph):
    helpers = reachable(graph, "newsroom.settings")
    assert helpers, "settings read the mail, storage and editor helpers"
    assert not [name for name in helpers if ".models" in f"{name}."]
    modules = project_modules()
    for name in helpers:
        assert not NOT_FOR_SETTINGS & imported_names(modules[name], name), name


def test_only_members_billing_imports_the_stripe_sdk():
    importers = sorted(
        name
        for name, path in project_modules().items()
        if any(
            target == "stripe" or target.startswith("stripe.")
            for target in imported_names(path, name)
        )
    )
    assert importers == ["members.billing"]


def test_members_access_imports_nothing_of_the_newsroom(graph):
    # The newsroom asks members.access who may read what; the reverse would be a cycle.
    assert not [name for name in reachable(graph, "members.access") if name.startswith("newsroom")]
