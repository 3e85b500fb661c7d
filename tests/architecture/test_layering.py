"""The house rules of app/, read from the source: data flows router -> service -> repository -> db.

- db/ imports no domain (only db/ itself and the retry helper).
- A domain never imports another domain's router, repository or private transaction builders; it
  uses the other domain's service (by module alias), schemas or dependencies.
- A service never imports app.db at run time (a type-only import of the table handle is allowed),
  nor any router; a router never imports app.db nor a repository; a repository imports no service
  and no router.
- No module in app/ runs past MAX_LINES without saying why at its top.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
DOMAINS = ("auth", "loans", "users", "dashboard", "servicing", "notifications")
PRIVATE = ("router", "lender_router", "repository", "transitions", "servicing_ops")
MAX_LINES = 250
LONG_REASON = "Longer than 250 lines because"


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name, e.g. app.loans.repository
    type_only: bool


def module_name(path: Path) -> str:
    return ".".join(("app", *path.relative_to(APP).with_suffix("").parts)).removesuffix(".__init__")


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path) -> list[Import]:
    """Every app.* module `path` imports (`from app.x import y` counts as app.x.y when y is a module)."""
    tree = ast.parse(path.read_text())
    type_only_nodes = {
        id(child) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node) for child in ast.walk(node)
    }
    found: list[Import] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            names = [
                f"{base}.{alias.name}" if (APP.parent / f"{base}.{alias.name}".replace(".", "/")).with_suffix(".py").exists() else base
                for alias in node.names
            ]
        found.extend(Import(name, id(node) in type_only_nodes) for name in names if name.startswith("app"))
    return found


def app_modules() -> list[Path]:
    return sorted(path for path in APP.rglob("*.py") if "__pycache__" not in path.parts)


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in DOMAINS else None


def leaf(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def violations() -> list[str]:
    found = []
    for path in app_modules():
        name = module_name(path)
        own_domain = domain_of(name)
        kind = leaf(name)
        for imported in imports_of(path):
            target, target_domain, target_kind = imported.module, domain_of(imported.module), leaf(imported.module)
            if name.startswith("app.db.") and not (target.startswith("app.db") or target in ("app.retry", "app.errors")):
                found.append(f"{name} (data layer) imports {target}")
            if target_domain and own_domain and target_domain != own_domain and target_kind in PRIVATE:
                found.append(f"{name} imports another domain's {target_kind}: {target}")
            if target_kind in ("transitions", "servicing_ops") and name not in ("app.loans.repository", "app.loans.servicing_ops"):
                found.append(f"{name} imports the repository's private builders {target}")
            if kind.endswith("service") and target.startswith("app.db") and not imported.type_only:
                found.append(f"service {name} imports the data layer {target}")
            if kind.endswith("service") and target_kind.endswith("router"):
                found.append(f"service {name} imports a router {target}")
            if kind.endswith("router") and (target.startswith("app.db") or target_kind == "repository"):
                found.append(f"router {name} imports {target}")
            if kind == "repository" and target_kind.endswith(("service", "router")):
                found.append(f"repository {name} imports {target}")
    return found


def test_data_flows_router_service_repository_db() -> None:
    assert violations() == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    # Given a service that imports the data layer at run time and another domain's repository
    module = tmp_path / "service.py"
    module.write_text("from app.db.dynamo import Dynamo\nfrom app.users import repository\n")
    # Then both imports are seen, neither as type-only
    assert [(found.module, found.type_only) for found in imports_of(module)] == [("app.db.dynamo", False), ("app.users.repository", False)]


@pytest.mark.parametrize("path", app_modules(), ids=lambda path: str(path.relative_to(APP)))
def test_module_is_short_or_says_why(path: Path) -> None:
    lines = path.read_text().splitlines()
    if len(lines) > MAX_LINES:
        assert LONG_REASON in "\n".join(lines[:15]), f"{len(lines)} lines without '{LONG_REASON} ...' at the top"
