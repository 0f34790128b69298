"""`achats run` writes the dashboard beside the new warehouse and publishes both together: a run
stopped by a blocking check leaves the previous dashboard as it was (the dashboard step may have
run ahead of that check), a run that succeeds replaces it, and nothing staged is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from achats.pipelines import cli
from tests.test_direct_runner import BLOCKING

OLD = "<html>tableau du calcul précédent</html>"


def _run(engine: str, data: Path, out: Path) -> int:
    return cli.main(["run", "--moteur", engine, "--data-dir", str(data), "--warehouse", str(out / "wh" / "w.duckdb"),
                     "--dashboard-dir", str(out / "dash")])


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "wh").iterdir() if p.name.endswith(".tableau") or p.name.endswith(".tmp"))


@pytest.mark.parametrize("engine", cli.ENGINES)
@pytest.mark.parametrize("check", sorted(BLOCKING))
def test_a_failed_run_leaves_the_previous_dashboard(check, engine, mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write(BLOCKING[check])
    page = tmp_path / "dash" / "tableau_de_bord_ess.html"
    page.parent.mkdir(parents=True)
    page.write_text(OLD, encoding="utf-8")
    assert _run(engine, data, tmp_path) == 2
    assert f"[contrôle {check}]" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == OLD
    assert sorted(p.name for p in page.parent.iterdir()) == ["tableau_de_bord_ess.html"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("engine", cli.ENGINES)
def test_a_run_that_succeeds_publishes_the_dashboard_with_the_warehouse(engine, mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    page = tmp_path / "dash" / "tableau_de_bord_ess.html"
    page.parent.mkdir(parents=True)
    page.write_text(OLD, encoding="utf-8")
    assert _run(engine, data, tmp_path) == 0
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    assert text != OLD and "FOURNISSEUR A" in text
    assert (tmp_path / "wh" / "w.duckdb").exists() and _leftovers(tmp_path) == []


def test_a_dashboard_run_ahead_of_a_slow_recount_that_fails_is_not_published(mini, tmp_path, capsys, monkeypatch):
    """The recount of the figures (blocking) ends after the dashboard has been built ahead of it,
    and finds a difference: the dashboard built ahead must not reach the dashboard folder."""
    import threading

    from achats import recount

    built = threading.Event()
    original = recount.objective8_mismatches

    def slow_mismatch(con, *args, **kwargs):
        built.wait(timeout=20)  # the dashboard is built while the recount runs
        original(con, *args, **kwargs)
        return ["ALL : dépense ESS publiée ≠ recomptée (différence simulée)"]

    import achats.dashboards.build as dashboard

    real_build = dashboard.build_dashboard

    def build(*args, **kwargs):
        try:
            return real_build(*args, **kwargs)
        finally:
            built.set()

    monkeypatch.setattr(recount, "objective8_mismatches", slow_mismatch)
    monkeypatch.setattr(dashboard, "build_dashboard", build)
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    page = tmp_path / "dash" / "tableau_de_bord_ess.html"
    page.parent.mkdir(parents=True)
    page.write_text(OLD, encoding="utf-8")
    assert _run("direct", data, tmp_path) == 2
    assert "[contrôle objective8_recount]" in capsys.readouterr().err
    assert built.is_set()  # the dashboard was built ahead of the recount...
    assert page.read_text(encoding="utf-8") == OLD  # ...and not published
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "wh" / "w.duckdb").exists()
