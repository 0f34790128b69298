"""achats: measure a French public buyer's spending with the social and solidarity economy (ESS)."""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"

# The Dagster shell and the dashboard builder are imported as `achats.pipelines` and
# `achats.dashboards`. The wheel installs them there (hatchling `sources`); a checkout keeps them
# in the top-level folders pipelines/ and dashboards/ of the layout, which hatchling's editable
# install cannot remap (pfmoore/editables#20), so this finder gives a checkout the same names.
# Kept to modules already loaded at start-up (os, sys): `import achats` stays as cheap as before.
_CHECKOUT_FOLDERS = {"achats.pipelines": "pipelines", "achats.dashboards": "dashboards"}


class _CheckoutFolders:
    """Finds exactly `achats.pipelines` and `achats.dashboards` in a checkout's top-level folders
    (a meta path finder: their submodules are then found by the usual path machinery)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: ANN201
        folder = _CHECKOUT_FOLDERS.get(fullname)
        if folder is None:
            return None
        import importlib.util

        init = os.path.join(self.root, folder, "__init__.py")
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[os.path.dirname(init)])


def _expose_checkout_folders() -> None:
    """Install the finder only in a checkout (src/achats beside pipelines/), never from a wheel."""
    here = os.path.dirname(os.path.realpath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    if os.path.exists(os.path.join(here, "pipelines")) or not os.path.isfile(os.path.join(root, "pyproject.toml")):
        return
    if not all(os.path.isfile(os.path.join(root, f, "__init__.py")) for f in _CHECKOUT_FOLDERS.values()):
        return
    if not any(type(finder).__name__ == "_CheckoutFolders" for finder in sys.meta_path):
        sys.meta_path.insert(0, _CheckoutFolders(root))


_expose_checkout_folders()
