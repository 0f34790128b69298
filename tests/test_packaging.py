"""The project's packages live under `achats` (issue #12, item 6); the domain library stays free of Dagster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import rename_namespace  # noqa: E402


def _run(code: str, cwd: Path) -> dict:
    """Run `code` in a fresh interpreter that sees only src/ of this checkout (not its root)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_module_of_the_domain_library_imports_dagster(tmp_path):
    seen = _run("""
        import json, pkgutil, sys, importlib
        import achats
        names = [m.name for m in pkgutil.walk_packages(achats.__path__, "achats.")
                 if not m.name.startswith(("achats.pipelines", "achats.dashboards"))]
        for name in names:
            importlib.import_module(name)
        print(json.dumps({"modules": names,
                          "dagster": sorted(m for m in sys.modules if m.split(".")[0].startswith("dagster"))}))
    """, tmp_path)
    assert len(seen["modules"]) > 20  # the walk really imported the library
    assert "achats.resolution" in seen["modules"] and "achats.sources.purchases" in seen["modules"]
    assert seen["dagster"] == []


def test_the_dagster_shell_and_the_dashboard_are_imported_under_achats(tmp_path):
    seen = _run("""
        import json
        import achats.pipelines.definitions as d
        import achats.dashboards.build as b
        print(json.dumps({"definitions": d.__file__, "build": b.__file__,
                          "assets": len(list(d.defs.resolve_all_asset_keys()))}))
    """, tmp_path)
    assert Path(seen["definitions"]) == ROOT / "pipelines" / "definitions.py"
    assert Path(seen["build"]) == ROOT / "dashboards" / "build.py"
    assert seen["assets"] > 10


def test_pyproject_installs_one_top_level_package():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert set(wheel["sources"].values()) == {"achats", "achats/pipelines", "achats/dashboards"}
    assert config["project"]["scripts"]["achats"].startswith("achats.pipelines.")
    assert config["tool"]["dagster"]["module_name"] == "achats.pipelines.definitions"


def test_no_file_uses_the_old_top_level_module_names():
    """The lead re-runs tools/rename_namespace.py after merging; this catches what it missed."""
    pending = rename_namespace.changes(ROOT)
    assert not pending, "python tools/rename_namespace.py : " + ", ".join(
        str(p.relative_to(ROOT)) for p in pending)


def test_rename_script_rewrites_module_names_only_and_is_idempotent(tmp_path):
    for folder, module in (("pipelines", "cli"), ("pipelines", "assets"), ("dashboards", "build")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
        (tmp_path / folder / f"{module}.py").write_text("")
    source = textwrap.dedent("""\
        from pipelines import cli
        from pipelines.assets import x
        import dashboards.build  # noqa: F401
        cmd = ["-m", "pipelines.cli", "run"]
        out = Path("dashboards/output")  # pipelines/assets.py, group "dashboards"
        self.dashboards.build = pipelines.unknown
    """)
    (tmp_path / "t.py").write_text(source)
    (tmp_path / "pyproject.toml").write_text('[project.scripts]\nachats = "pipelines.cli:main"\n')
    (tmp_path / "Makefile").write_text("dev:\n\tdagster dev -m pipelines.cli\n")
    first = rename_namespace.changes(tmp_path)
    assert first[tmp_path / "t.py"] == textwrap.dedent("""\
        from achats.pipelines import cli
        from achats.pipelines.assets import x
        import achats.dashboards.build  # noqa: F401
        cmd = ["-m", "achats.pipelines.cli", "run"]
        out = Path("dashboards/output")  # pipelines/assets.py, group "dashboards"
        self.dashboards.build = pipelines.unknown
    """)
    assert first[tmp_path / "pyproject.toml"].endswith('achats = "achats.pipelines.cli:main"\n')
    assert "-m achats.pipelines.cli" in first[tmp_path / "Makefile"]
    for path, text in first.items():
        path.write_text(text)
    assert rename_namespace.changes(tmp_path) == {}


def test_every_third_party_import_of_the_product_is_a_runtime_dependency():
    """The wheel installs only [project].dependencies: a module the product imports that only the
    dev extras bring (numpy came in that way once) breaks the installed tool, not the tests."""
    import ast
    import importlib.metadata as md
    import re
    import sys
    import tomllib

    root = Path(__file__).parents[1]
    deps = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    declared = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}
    dists = md.packages_distributions()
    missing = {}
    dev_tools = {"dashboards/screenshot.py"}  # `make screenshots` for the README, with the dev extras
    for folder in ("src/achats", "pipelines", "dashboards"):
        for path in (root / folder).rglob("*.py"):
            if str(path.relative_to(root)) in dev_tools:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in ("achats", "__future__"):
                        continue
                    owners = {d.lower().replace("_", "-") for d in dists.get(top, [top])}
                    if not owners & declared:
                        missing.setdefault(top, set()).add(str(path.relative_to(root)))
    assert not missing, missing
