"""The DECP extract written by `achats fetch` never merges contracts whose id is a placeholder."""

from __future__ import annotations

import json

import duckdb

from achats.fetch.build import decp_to_json


def test_placeholder_ids_are_not_merged(tmp_path):
    parquet = tmp_path / "decp.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM (VALUES
        (NULL, '', '22310001700016', 'Voirie lot 1', '45233140', 1000.0, '2024-01-02', NULL, '11111111111111', 'SIRET', 'A'),
        (NULL, '', '22310001700016', 'Voirie lot 2', '45233140', 1500.0, '2024-01-03', NULL, '55555555555555', 'SIRET', 'E'),
        (NULL, '000', '22310001700016', 'Nettoyage', '90910000', 2000.0, '2024-02-02', NULL, '22222222222222', 'SIRET', 'B'),
        (NULL, '000', '22310001700016', 'Nettoyage', '90910000', 2000.0, '2024-02-02', NULL, '33333333333333', 'SIRET', 'C'),
        ('U1', '24-01', '22310001700016', 'Repas', '55520000', 3000.0, '2024-03-02', NULL, '44444444444444', 'SIRET', 'D'))
        AS t(uid, id, acheteur_id, objet, codeCPV, montant, dateNotification, considerationsSociales,
             titulaire_id, titulaire_typeIdentifiant, titulaire_denominationSociale))
        TO '{parquet}' (FORMAT parquet)""")
    out = tmp_path / "contracts" / "decp.json"
    assert decp_to_json(parquet, "223100017", out) == 4
    marches = json.loads(out.read_text(encoding="utf-8"))["marches"]
    by_object = {m["objet"]: len(m["titulaires"]) for m in marches}
    assert by_object == {"Voirie lot 1": 1, "Voirie lot 2": 1, "Nettoyage": 2, "Repas": 1}
