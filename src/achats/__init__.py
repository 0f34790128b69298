"""achats: measure a French public buyer's spending with the social and solidarity economy (ESS)."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"

# The Dagster shell and the dashboard builder are imported as `achats.pipelines` and
# `achats.dashboards`. The wheel installs them there (hatchling `sources`); a checkout keeps them
# in the top-level folders pipelines/ and dashboards/ of the layout, which hatchling's editable
# install cannot remap (pfmoore/editables#20), so this finder gives a checkout the same names.
_CHECKOUT_FOLDERS = {"achats.pipelines": "pipelines", "achats.dashboards": "dashboards"}


class _CheckoutFolders(importlib.abc.MetaPathFinder):
    """Finds exactly `achats.pipelines` and `achats.dashboards` in a checkout's top-level folders."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        folder = _CHECKOUT_FOLDERS.get(fullname)
        if folder is None:
            return None
        init = self.root / folder / "__init__.py"
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(init.parent)])


def _expose_checkout_folders() -> None:
    """Install the finder only in a checkout (src/achats beside pipelines/), never from a wheel."""
    here = Path(__file__).resolve().parent
    root = here.parents[1]
    if (here / "pipelines").exists() or not (root / "pyproject.toml").is_file():
        return
    if not all((root / folder / "__init__.py").is_file() for folder in _CHECKOUT_FOLDERS.values()):
        return
    if not any(type(finder).__name__ == "_CheckoutFolders" for finder in sys.meta_path):
        sys.meta_path.insert(0, _CheckoutFolders(root))


_expose_checkout_folders()
