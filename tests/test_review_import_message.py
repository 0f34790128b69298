"""`review import` says what it did: a first import has no decision « déjà en vigueur », a second
import of the same file has nothing new, and the French agrees with the counts."""

from __future__ import annotations

from pathlib import Path

from achats.pipelines.cli import import_summary, main
from tests.test_review_stale_keys import exported_queue, write_review

DECISION = "Décision (SIREN, SIRET ou « aucun »)"


def test_first_then_repeated_import_of_the_same_decisions(mini, tmp_path, capsys):
    b, data, out, rows = exported_queue(mini, tmp_path)
    rows[1][rows[0].index(DECISION)] = b
    rows[2][rows[0].index(DECISION)] = "aucun"
    write_review(out, rows)
    args = ["review", "import", str(out), "--data-dir", str(data), "--by", "agent.dcp",
            "--warehouse", str(tmp_path / "r1" / "wh" / "w.duckdb")]
    capsys.readouterr()

    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("2 décisions lues, 2 nouvelles ; ")
    assert "en vigueur" not in first and "les autres" not in first
    assert "en garde 2, historique compris. Elles s'appliqueront au prochain « achats run »." in first
    stored = (data / "overrides.csv").read_bytes()

    assert main(args) == 0
    second = capsys.readouterr().out
    assert second.startswith("2 décisions lues, 0 nouvelle, 2 déjà en vigueur (non réécrites) ; ")
    assert "en garde 2, historique compris. overrides.csv n'est pas modifié." in second
    assert (data / "overrides.csv").read_bytes() == stored


def test_counts_agree_in_french():
    path = Path("d/overrides.csv")
    assert import_summary(1, 1, 0, 1, path) == \
        "1 décision lue, 1 nouvelle ; d/overrides.csv en garde 1, historique compris. " \
        "Elle s'appliquera au prochain « achats run »."
    # 5 read: 2 new, 1 unknown key, so 2 were already in force
    assert import_summary(5, 2, 1, 7, path).startswith(
        "5 décisions lues, 2 nouvelles, 1 ignorée (clé fournisseur inconnue), 2 déjà en vigueur (non réécrites) ; ")
    assert import_summary(3, 0, 3, 0, path).startswith("3 décisions lues, 0 nouvelle, 3 ignorées (clé fournisseur "
                                                        "inconnue) ; ")
