"""Rewrite imports and module paths from `pipelines.*` / `dashboards.*` to `achats.pipelines.*` /
`achats.dashboards.*` (issue #12, item 6).

Kept as a script rather than done by hand so that it can be re-run after merging branches written
with the old names: it is idempotent (a tree already using the new names is left unchanged).

    python tools/rename_namespace.py          # rewrite, then sort the touched imports with ruff
    python tools/rename_namespace.py --check  # list the files still using the old names; exit 1

Only module names change: the folders pipelines/ and dashboards/ stay, so file paths
(`pipelines/assets.py`, `dashboards/output`) and the Dagster group `dashboards` are untouched.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "dashboards")
SUFFIXES = {".py", ".toml", ".yaml", ".yml", ".md", ".sh", ".cfg", ".ini", ".txt", ".js"}
NAMES = {"Makefile", "Dockerfile"}
# Generated files, data, this script and its test (they name the old modules on purpose).
SKIP_DIRS = {".git", "data", "node_modules", "build", "dist"}
SKIP_FILES = {"tools/rename_namespace.py", "tests/test_packaging.py", "docs/dictionnaire_donnees.md"}


def _submodules(root: Path, package: str) -> list[str]:
    folder = root / package
    names = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()} if folder.is_dir() else set()
    return sorted(names, key=len, reverse=True)


def _rules(root: Path) -> list[tuple[re.Pattern[str], str]]:
    pkgs = "|".join(PACKAGES)
    rules = [
        # from pipelines import cli / from pipelines.assets import x
        (re.compile(rf"^(\s*)from ({pkgs})((?:\.\w+)*) import ", re.M), r"\1from achats.\2\3 import "),
        # import pipelines.cli [as x]
        (re.compile(rf"^(\s*)import ({pkgs})\b", re.M), r"\1import achats.\2"),
    ]
    # Dotted references in strings, commands and configuration: pipelines.cli, "dashboards.build".
    # Only real submodules, and never after a dot, a word character, a slash or a dash (so
    # `achats.pipelines.cli`, `self.dashboards.x` and paths are left alone).
    for package in PACKAGES:
        subs = _submodules(root, package)
        if subs:
            rules.append((re.compile(rf"(?<![\w./-]){package}\.({'|'.join(subs)})\b"),
                          rf"achats.{package}.\1"))
    return rules


def _candidate_files(root: Path) -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.splitlines()
        paths = [root / line for line in listed]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in root.rglob("*") if p.is_file()]
    out = []
    for path in paths:
        rel = path.relative_to(root)
        if rel.as_posix() in SKIP_FILES or any(part in SKIP_DIRS or part.startswith(".venv")
                                               for part in rel.parts[:-1]):
            continue
        if (path.suffix in SUFFIXES or path.name in NAMES) and path.is_file():
            out.append(path)
    return sorted(out)


def rewrite(text: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def changes(root: Path = ROOT) -> dict[Path, str]:
    """Files whose text would change, with their new text."""
    rules = _rules(root)
    out = {}
    for path in _candidate_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(text, rules)
        if new != text:
            out[path] = new
    return out


def _sort_imports(root: Path, files: list[Path]) -> None:
    """The new names sort among `achats` imports: let ruff reorder just those blocks."""
    if not files:
        return
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    if ruff is None:
        print("ruff introuvable : lancez `ruff check --select I --fix` sur les fichiers réécrits",
              file=sys.stderr)
        return
    subprocess.run([ruff, "check", "--select", "I", "--fix", "--quiet", *map(str, files)], cwd=root,
                   check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list files using the old names; exit 1")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    pending = changes(root)
    for path in pending:
        print(path.relative_to(root))
    if args.check:
        return 1 if pending else 0
    for path, text in pending.items():
        path.write_text(text, encoding="utf-8")
    _sort_imports(root, [p for p in pending if p.suffix == ".py"])
    print(f"{len(pending)} fichier(s) réécrit(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
