"""Snapshot of the asset graph: renaming or dropping an asset (a table analysts may rely on) must
be a deliberate change of tests/data/asset_graph.txt, not an accident."""

from __future__ import annotations

import os
from pathlib import Path

from achats.pipelines.definitions import defs

SNAPSHOT = Path(__file__).parent / "data" / "asset_graph.txt"


def current_graph() -> str:
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        deps = sorted(p.to_user_string() for p in node.parent_keys)
        lines.append(f"{node.group_name}/{key.to_user_string()} <- {', '.join(deps) or '-'}")
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_its_snapshot():
    if os.environ.get("ACHATS_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(current_graph(), encoding="utf-8")
    assert current_graph() == SNAPSHOT.read_text(encoding="utf-8"), \
        "le graphe des assets a changé : relancer avec ACHATS_UPDATE_SNAPSHOT=1 si c'est voulu"
