"""Fetching sources, offline: a local server replays payloads and injects the failures seen in
the wild. Each case ends with correct data or a clear error and the old data intact."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import polars as pl
import pytest

from achats.fetch.apis import InseeSirene, RechercheEntreprises, write_candidates
from achats.fetch.build import fetch_all
from achats.fetch.config import Source, load_sources
from achats.fetch.http import ApiClient, FetchError, RateLimiter, download, session
from tests.conftest import luhn_complete
from tests.fakeserver import FakeServer

DATA = Path(__file__).parent / "data"


def parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf)
    return buf.getvalue()


_RNG = random.Random(1)
BODY = parquet_bytes(pl.DataFrame({"siren": [f"{i:09d}" for i in range(40_000)],
                                  "x": [f"{_RNG.getrandbits(64):016x}" for _ in range(40_000)]}))
FAST = {"retries": 2, "backoff": 0.01}


def test_download_then_unchanged_with_etag_then_changed(tmp_path):
    with FakeServer() as srv:
        srv.files["/f"] = {"body": BODY, "etag": '"v1"'}
        r1 = download(srv.url + "/f", tmp_path / "f.parquet", "parquet")
        assert r1.status == "téléchargé" and (tmp_path / "f.parquet").read_bytes() == BODY
        r2 = download(srv.url + "/f", tmp_path / "f.parquet", "parquet")
        assert r2.status == "inchangé" and srv.requests[-1][1].get("If-None-Match") == '"v1"'
        new = parquet_bytes(pl.DataFrame({"siren": ["1"]}))
        srv.files["/f"] = {"body": new, "etag": '"v2"'}
        r3 = download(srv.url + "/f", tmp_path / "f.parquet", "parquet")
        assert r3.status == "téléchargé" and (tmp_path / "f.parquet").read_bytes() == new
        assert r3.publisher_date == "Wed, 01 Oct 2025 00:00:00 GMT"


def test_truncated_body_is_retried_and_never_installed(tmp_path):
    with FakeServer() as srv:
        srv.files["/f"] = {"body": BODY}
        srv.plans["/f"] = [{"cut_after": 500}]
        res = download(srv.url + "/f", tmp_path / "f.parquet", "parquet", http=session(**FAST))
        assert (tmp_path / "f.parquet").read_bytes() == BODY and res.size_bytes == len(BODY)
        assert len(srv.requests) == 2


def test_dropped_connection_resumes_with_a_range_request(tmp_path):
    with FakeServer() as srv:
        srv.files["/f"] = {"body": BODY, "etag": '"e"', "ranges": True}
        assert len(BODY) > 200_000
        srv.plans["/f"] = [{"cut_after": 200_000}]
        download(srv.url + "/f", tmp_path / "f.parquet", "parquet", http=session(**FAST))
        assert (tmp_path / "f.parquet").read_bytes() == BODY
        resumed_from = int(srv.requests[-1][1]["Range"].removeprefix("bytes=").rstrip("-"))
        assert 0 < resumed_from <= 200_000


def test_429_honours_retry_after(tmp_path):
    with FakeServer() as srv:
        srv.files["/f"] = {"body": BODY}
        srv.plans["/f"] = [{"status": 429, "headers": {"Retry-After": "1"}}]
        start = time.monotonic()
        download(srv.url + "/f", tmp_path / "f.parquet", "parquet", http=session(**FAST))
        assert time.monotonic() - start >= 1.0 and (tmp_path / "f.parquet").read_bytes() == BODY


def test_503_burst_then_success(tmp_path):
    with FakeServer() as srv:
        srv.files["/f"] = {"body": BODY}
        srv.plans["/f"] = [{"status": 503}, {"status": 503}]
        download(srv.url + "/f", tmp_path / "f.parquet", "parquet", http=session(retries=3, backoff=0.01))
        assert (tmp_path / "f.parquet").read_bytes() == BODY


def test_persistent_5xx_is_a_clear_error_and_keeps_the_old_file(tmp_path):
    old = tmp_path / "f.parquet"
    old.write_bytes(BODY)
    with FakeServer() as srv:
        srv.plans["/f"] = [{"status": 503}] * 10
        with pytest.raises(FetchError, match="HTTP 503.*précédent est conservé"):
            download(srv.url + "/f", old, "parquet", http=session(**FAST))
    assert old.read_bytes() == BODY


def test_slow_responses_past_the_timeout(tmp_path):
    old = tmp_path / "f.parquet"
    old.write_bytes(BODY)
    with FakeServer() as srv:
        srv.files["/f"] = {"body": BODY}
        srv.plans["/f"] = [{"delay": 1.0}] * 8
        with pytest.raises(FetchError, match="délai dépassé|connexion interrompue"):
            download(srv.url + "/f", old, "parquet", http=session(retries=0, backoff=0.01), timeout=0.3, attempts=2)
    assert old.read_bytes() == BODY


def test_html_page_instead_of_parquet_is_refused(tmp_path):
    old = tmp_path / "f.parquet"
    old.write_bytes(BODY)
    with FakeServer() as srv:
        srv.files["/f"] = {"body": b"<!DOCTYPE html><html><body>Maintenance</body></html>"}
        with pytest.raises(FetchError, match="page HTML"):
            download(srv.url + "/f", old, "parquet")
    assert old.read_bytes() == BODY and not (tmp_path / "f.parquet.part").exists()


def test_rate_limiter_spaces_calls():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(7, clock=lambda: now[0], sleep=sleep)
    for _ in range(15):
        limiter.wait()
    assert now[0] == pytest.approx(14 / 7)


def test_recherche_entreprises_masks_non_diffusible_and_survives_429(tmp_path):
    with FakeServer() as srv:
        srv.plans["/search"] = [
            {"status": 429, "headers": {"Retry-After": "0"}},
            {"body": json.dumps(json.loads((DATA / "recherche" / "search-Ganymede.json").read_text())["result"]).encode()},
            {"body": json.dumps(json.loads((DATA / "recherche" / "search-300025764.json").read_text())["result"]).encode()},
        ]
        client = RechercheEntreprises(Source("r", srv.url, "api"),
                                      ApiClient(srv.url, 100, http=session(**FAST)))
        results = client.search("GANYMEDE", "31")
        assert results and all(r["siren"] for r in results)
        assert "departement=31" in srv.requests[-1][0]
        masked = client.search("300025764")
        assert masked[0]["name"] == "Unité non diffusible" and masked[0]["departement"] is None


def test_insee_key_comes_from_the_environment_and_is_sent_in_its_header(tmp_path, monkeypatch):
    source = load_sources()["insee_sirene_api"]
    monkeypatch.delenv(source.key_env, raising=False)
    with pytest.raises(FetchError, match="clé absente"):
        InseeSirene(source)
    monkeypatch.setenv(source.key_env, "secret-cle-123")
    with FakeServer() as srv:
        srv.plans["/siren/552032534"] = [{"body": json.dumps({"uniteLegale": {"siren": "552032534"}}).encode()}]
        api = InseeSirene(Source(**{**source.__dict__, "url": srv.url}))
        assert api.unite_legale("552032534")["siren"] == "552032534"
        assert srv.requests[-1][1].get(source.key_header) == "secret-cle-123"


def test_fetch_lays_out_a_data_directory_that_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("ACHATS_MARCHE_INCLUSION_TOKEN", raising=False)
    from achats.pipelines.cli import run_pipeline

    siren_a, siren_b, buyer = luhn_complete("40000001"), luhn_complete("40000002"), luhn_complete("22310099")
    units = pl.DataFrame({"siren": [siren_a, siren_b, luhn_complete("40000003")],
                          "denominationUniteLegale": ["ASSOCIATION LOCALE", "SOCIETE LOINTAINE", "AUTRE LOIN"],
                          "categorieJuridiqueUniteLegale": ["9220", "5710", "5710"],
                          "economieSocialeSolidaireUniteLegale": ["O", None, None],
                          "etatAdministratifUniteLegale": ["A", "A", "A"]})
    etabs = pl.DataFrame({"siren": [siren_a, siren_b, units["siren"][2]], "nic": ["00011"] * 3,
                          "siret": [luhn_complete(s + "0001") for s in units["siren"]],
                          "codeCommuneEtablissement": ["31555", "75056", "13055"],
                          "etablissementSiege": [True, True, True]})
    decp = pl.DataFrame({"uid": ["u1", "u2"], "id": ["1", "2"], "acheteur_id": [buyer + "00014", "99999999900011"],
                         "objet": ["Nettoyage", "Autre"], "codeCPV": ["90910000-9", "45000000-7"],
                         "montant": [1000.0, 5.0], "dateNotification": ["2024-03-01", "2024-03-01"],
                         "titulaire_id": [luhn_complete(siren_b + "0001"), "1"], "titulaire_typeIdentifiant": ["SIRET"] * 2,
                         "titulaire_denominationSociale": ["SOCIETE LOINTAINE", "X"]})
    data = tmp_path / "data"
    (data / "purchases").mkdir(parents=True)
    (data / "purchases" / "a.csv").write_text(f"Fournisseur;SIRET;Montant;Date\nASSOCIATION LOCALE;;100;01/02/2024\n"
                                             f"SOCIETE LOINTAINE;{siren_b};50;01/02/2024\n", encoding="utf-8")
    with FakeServer() as srv:
        srv.files["/ul"] = {"body": parquet_bytes(units)}
        srv.files["/et"] = {"body": parquet_bytes(etabs)}
        srv.files["/ess"] = {"body": f"SIREN;Nom\n{siren_a};ASSOCIATION LOCALE\n".encode()}
        srv.files["/decp"] = {"body": parquet_bytes(decp)}
        srv.files["/annuaire/"] = {"body": json.dumps({"resources": [
            {"title": "unites_legales.parquet", "url": f"{srv.url}/annuaire_ul"}]}).encode()}
        srv.files["/annuaire_ul"] = {"body": parquet_bytes(pl.DataFrame({
            "siren": [siren_b], "siret_siege": [luhn_complete(siren_b + "0001")], "nom_complet": ["SOCIETE LOINTAINE"],
            "est_siae": [True], "type_siae": ["EI"]}))}
        (data / "achats.toml").write_text(
            f'[acheteur]\nsiren = "{buyer}"\ndepartement = "31"\n\n[sources]\n'
            f'sirene_unite_legale = "{srv.url}/ul"\nsirene_etablissement = "{srv.url}/et"\n'
            f'ess_france = "{srv.url}/ess"\ndecp = "{srv.url}/decp"\nannuaire_unites_legales = "{srv.url}/annuaire/"\n',
            encoding="utf-8")
        manifest = fetch_all(data, tmp_path / "cache", buyer, "31")
    by = {m["source"]: m for m in manifest}
    assert by["sirene_unite_legale"]["rows_kept"] == 2  # the local unit and the identified supplier
    assert by["decp"]["rows_kept"] == 1 and by["esus"]["status"] == "non configurée"
    assert by["siae"]["rows_kept"] == 1  # no marché de l'inclusion token: the Annuaire export said so
    assert all(len(m.get("sha256", "x")) in (64, 1) for m in manifest)
    assert "secret" not in (data / "sources_fetch.json").read_text(encoding="utf-8")
    wh = run_pipeline(data, tmp_path / "w.duckdb", tmp_path / "d")
    import duckdb

    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT total_amount_eur, ess_amount_low_eur FROM objective8_summary "
                           "WHERE period = 'ALL'").fetchone() == (150.0, 100.0)
        assert con.execute("SELECT notified_amount_eur FROM contracts_summary WHERE period = 'ALL'").fetchone()[0] == 1000
        assert con.execute("SELECT is_siae FROM suppliers WHERE siren = ?", [siren_b]).fetchone() == (True,)


def test_api_candidates_go_to_review_never_matched(mini, tmp_path):
    from tests.conftest import run_mini

    mini.unit("FOURNISSEUR CONNU", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR CONNU", "Montant": "900", "Date": "01/02/2024"},
                       {"Fournisseur": "QUINCAILLERIE ZEPHYR", "Montant": "10", "Date": "01/02/2024"}])

    class Stub:
        def search(self, name, departement=None):
            return [{"siren": "552032534", "name": "QUINCAILLERIE ZEPHYR SA", "departement": "75",
                     "est_ess": False, "est_siae": False}]

    assert write_candidates(["QUINCAILLERIE ZEPHYR"], Stub(), data / "status" / "recherche_candidats.csv") == 1
    con = run_mini(data, tmp_path)
    row = con.execute("""SELECT r.match_status, r.siren FROM purchase_lines p JOIN purchase_lines_resolved r
                         USING (line_id) WHERE p.supplier_name = 'QUINCAILLERIE ZEPHYR'""").fetchone()
    assert row == ("review", "552032534")


def test_siae_from_the_marche_inclusion_api_with_token_and_pages(monkeypatch):
    from achats.fetch.build import fetch_siae_marche

    source = load_sources()["marche_inclusion_api"]
    monkeypatch.setenv(source.key_env, "jeton-xyz")
    page1 = {"count": 2, "next": "p2", "results": [json.loads((DATA / "api_inclusion.json").read_text())[0]]}
    page2 = {"count": 2, "next": None, "results": [{"siret": "80746931700018", "name": "BALUCHON", "kind": "EI",
                                                     "post_code": "93230", "department": "93"}]}
    with FakeServer() as srv:
        srv.plans["/api/siae/"] = [{"body": json.dumps(page1).encode()}, {"body": json.dumps(page2).encode()}]
        rows = fetch_siae_marche(Source(**{**source.__dict__, "url": srv.url + "/api/siae/"}),
                                 ApiClient(srv.url + "/api/siae/", 100, http=session(**FAST)))
        assert [r["kind"] for r in rows] == ["EI", "EI"] and rows[0]["siret"] == "53374499100035"
        assert all("token=jeton-xyz" in path for path, _ in srv.requests)


def test_siae_from_the_annuaire_export_without_token(tmp_path, monkeypatch):
    from achats.fetch.build import annuaire_parquet_url, siae_from_annuaire

    listing = {"resources": [{"title": "etablissements.parquet", "url": "http://x/etab.parquet"},
                             {"title": "unites_legales_2026-11-26.parquet", "url": "http://x/ul.parquet"}]}
    assert annuaire_parquet_url(listing) == "http://x/ul.parquet"
    path = tmp_path / "ul.parquet"
    pl.DataFrame({"siren": ["533744991", "552032534"], "siret_siege": ["53374499100035", "55203253400646"],
                  "nom_complet": ["IDDEE 13", "DANONE"], "est_siae": [True, False],
                  "type_siae": ["ei", None]}).write_parquet(path)
    assert siae_from_annuaire(path) == [{"siret": "53374499100035", "name": "IDDEE 13", "kind": "EI", "naf": None,
                                         "post_code": None, "department": None}]


def test_insee_refresh_follows_the_cursor_and_wins_over_the_stock(mini, tmp_path, monkeypatch):
    from achats.fetch.build import insee_units_csv
    from tests.conftest import run_mini

    siren, _ = mini.unit("ANCIEN NOM SAS", cj="5710")
    data = mini.write([{"Fournisseur": "NOUVEAU NOM COOPERATIF", "Montant": "10", "Date": "01/02/2024"}])
    source = load_sources()["insee_sirene_api"]
    monkeypatch.setenv(source.key_env, "k")
    unit = {"siren": siren, "statutDiffusionUniteLegale": "O", "periodesUniteLegale": [
        {"denominationUniteLegale": "NOUVEAU NOM COOPERATIF", "categorieJuridiqueUniteLegale": "5458",
         "etatAdministratifUniteLegale": "A", "activitePrincipaleUniteLegale": "62.01Z"}]}
    with FakeServer() as srv:
        srv.plans["/siren"] = [
            {"body": json.dumps({"header": {"curseurSuivant": "c2"}, "unitesLegales": [unit]}).encode()},
            {"body": json.dumps({"header": {"curseurSuivant": "c2"}, "unitesLegales": []}).encode()}]
        api = InseeSirene(Source(**{**source.__dict__, "url": srv.url}))
        units = api.updated_since("2026-01-01")
        assert len(units) == 1 and "curseur=c2" in srv.requests[-1][0]
    insee_units_csv(units, data / "sirene" / "StockUniteLegale_maj.csv")
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT siren, is_ess, ess_family FROM suppliers").fetchall() == [(siren, True, "cooperative")]
