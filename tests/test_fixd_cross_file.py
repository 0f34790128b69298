"""Adversarial review #4, findings 1, 2, 10 and 4 (purchase reader, rules across files and parts of
a file): expected figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal

from achats.sources.purchases import duplicate_warnings
from tests.reader_inputs import CROSS_FILE_HEADER as HEADER
from tests.reader_inputs import CROSS_FILE_MAIN as MAIN
from tests.reader_inputs import accounted as _accounted
from tests.reader_inputs import counted as _counted
from tests.reader_inputs import read_exports as _read


def _other_export(direction: str) -> str:
    return (HEADER
            + f"D3;17/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;3 000,00;{direction}\n"
            f"D4;18/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;4 000,00;{direction}\n"
            f"D5;19/01/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;5 000,00;{direction}\n"
            f"D6;20/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;600,00;{direction}\n")


def test_one_direction_written_as_initials_and_in_full_is_one_entity(tmp_path):
    lines, files = _read(tmp_path, {"mandats_2024.csv": MAIN,
                                    "extraction_gf_janvier_2024.csv": _other_export(
                                        "Direction des systèmes d'information")})
    # 15 000 + D6 600; D3, D4, D5 repeated
    assert _counted(lines) == Decimal("15600.00")
    dup = lines.filter(lines["status"] == "duplicate")
    assert sorted(dup["mandate_number"].to_list()) == ["D3", "D4", "D5"]
    assert set(dup["source_file"].to_list()) == {"purchases/extraction_gf_janvier_2024.csv"}
    _accounted(lines, files)


def test_directions_that_share_nothing_still_keep_their_own_mandates(tmp_path):
    lines, files = _read(tmp_path, {"mandats_2024.csv": MAIN,
                                    "extraction_gf_janvier_2024.csv": _other_export(
                                        "Direction des ressources humaines")})
    assert _counted(lines) == Decimal("27600.00")  # 15 000 + 3 000 + 4 000 + 5 000 + 600
    assert lines.filter(lines["status"] == "duplicate").height == 0
    _accounted(lines, files)


def test_a_file_without_budget_column_is_not_the_main_budget(tmp_path):
    lines, files = _read(tmp_path, {
        "mandats_budget_principal_2024.csv": "N° mandat;Date mandat;Tiers;Montant TTC;Budget\n"
                                             "1;31/01/2024;SAS DURAND;1 200,00;Budget principal\n"
                                             "2;31/01/2024;ASSOCIATION QUINOA SOLIDAIRE;800,00;Budget principal\n"
                                             "3;15/02/2024;ZORGLUB TRAVAUX PUBLICS;5 000,00;Budget principal\n",
        "mandats_budget_annexe_eau_2024.csv": "N° mandat;Date mandat;Tiers;Montant TTC\n"
                                              "1;31/01/2024;DURAND CANALISATIONS;1 200,00\n"
                                              "2;28/02/2024;PAMPLEMOUSSE SERVICES;900,00\n"})
    assert _counted(lines) == Decimal("9100.00")  # 1 200 + 800 + 5 000 + 1 200 + 900
    assert lines.filter(lines["status"] == "duplicate").height == 0
    _accounted(lines, files)


def test_exercice_alone_is_too_weak_for_a_payee_spelled_otherwise(tmp_path):
    lines, files = _read(tmp_path, {
        "mandats_2023.csv": "N° mandat;Exercice;Fournisseur;Montant\n"
                            "12;2023;ASSOCIATION QUINOA SOLIDAIRE;1 000,00\n"
                            "13;2023;ZORGLUB TRAVAUX PUBLICS;2 000,00\n",
        "mandats_ccas_2023.csv": "N° mandat;Exercice;Fournisseur;Montant\n"
                                 "12;2023;AQS;1 000,00\n"
                                 "13;2023;ZORGLUB;2 000,00\n"})
    assert _counted(lines) == Decimal("6000.00")
    assert lines.filter(lines["status"] == "duplicate").height == 0
    assert not any("même date" in (r or "") for r in lines["quarantine_reason"].to_list())
    _accounted(lines, files)


def test_respelled_payee_reasons_name_the_physical_lines(tmp_path):
    lines, _ = _read(tmp_path, {
        "mandats_2024.csv": MAIN,
        "extraction_gf_janvier_2024.csv": "Extraction du 01/02/2024\n\n"
                                          "N° mandat;Date mandat;Tiers;Montant TTC;Direction\n"
                                          "D3;17/01/2024;ZORGLUB TP;3 000,00;DSI\n"})
    dup = lines.filter(lines["status"] == "duplicate")
    assert dup.height == 1
    line = dup["source_line"][0]
    assert line == 4
    reason = dup["quarantine_reason"][0]
    # D3 is the 4th physical line of mandats_2024.csv (header on line 1)
    assert f"extraction_gf_janvier_2024.csv, ligne {line} :" in reason
    assert "« purchases/mandats_2024.csv », ligne 4 " in reason


def test_a_cumulative_concatenated_export_counts_each_payment_once(tmp_path):
    rows = [f"W{k};{10 + k:02d}/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;{100 * k},00;DSI\n"
            for k in range(1, 11)]
    extra = "W11;05/02/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;999,00;DSI\n"
    lines, files = _read(tmp_path, {"export_cumule_2024.csv": HEADER + "".join(rows) + HEADER + "".join(rows)
                                    + extra})
    assert _counted(lines) == Decimal("6499.00")  # 100 + 200 + … + 1 000 = 5 500, + 999
    assert lines.filter(lines["status"] == "ok").height == 11
    dup = lines.filter(lines["status"] == "duplicate")
    assert sorted(dup["source_line"].to_list()) == list(range(2, 12))  # the first part, lines 2 to 11
    _accounted(lines, files)
    assert any("cumul" in w for w in duplicate_warnings(files, lines))


def test_a_later_part_with_other_rows_first_is_no_cumulative_copy(tmp_path):
    rows = [f"W{k};{10 + k:02d}/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;{100 * k},00;DSI\n"
            for k in range(1, 4)]
    other = "W9;05/02/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;999,00;DSI\n"
    lines, files = _read(tmp_path, {"export_2024.csv": HEADER + "".join(rows) + HEADER + other + "".join(rows)})
    # the second part does not start with the first: two exports, every row counted
    assert _counted(lines) == Decimal("2199.00")  # 2 × (100 + 200 + 300) + 999
    assert lines.filter(lines["status"] == "duplicate").height == 0
    _accounted(lines, files)


def test_an_ambiguous_abbreviated_entity_joins_neither_budget():
    from achats.sources.purchases import _entity_groups

    canon = _entity_groups(["budget annexe eau", "budget annexe assainissement", "budget annexe", "dsi",
                            "direction des systemes d information"])
    assert canon["dsi"] == canon["direction des systemes d information"]
    assert len({canon["budget annexe eau"], canon["budget annexe assainissement"], canon["budget annexe"]}) == 3


def test_one_doubled_line_does_not_hide_an_export_inside_a_larger_one(tmp_path):
    """Finding B3: the quarter's export (no SIRET column) repeats one payment twice; its three
    distinct payments are all in the half-year's export."""
    lines, files = _read(tmp_path, {
        "export_semestre1_2024.csv": "Date paiement;Fournisseur;SIRET;Montant\n"
                                     "05/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;300,00\n"
                                     "05/02/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;300,00\n"
                                     "05/03/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;450,00\n"
                                     "05/04/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;300,00\n"
                                     "05/05/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;300,00\n"
                                     "05/06/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;300,00\n",
        "export_t1_2024.csv": "Date paiement;Fournisseur;Montant\n"
                              "05/01/2024;ZORGLUB TRAVAUX PUBLICS;300,00\n"
                              "05/02/2024;ZORGLUB TRAVAUX PUBLICS;300,00\n"
                              "05/03/2024;ASSOCIATION QUINOA SOLIDAIRE;450,00\n"
                              "05/03/2024;ASSOCIATION QUINOA SOLIDAIRE;450,00\n"})
    # 1 950 for the half-year; of the quarter, the second identical 450 row stays a payment
    assert _counted(lines) == Decimal("2400.00")
    dup = lines.filter(lines["status"] == "duplicate")
    assert dup.height == 3
    assert set(dup["source_file"].to_list()) == {"purchases/export_t1_2024.csv"}
    _accounted(lines, files)
