"""Review round 10, defects 3 and 6: headers the round-9 column rules misread (cases AM, AM2,
DT2). Each pair: the headers of an export, the column a finance officer reads as the amount paid
and as the payment's date."""

from __future__ import annotations

import pytest

from achats.sources.purchases import map_headers

CASES = [
    # a date named by its verb is the date, never the amount
    (["Fournisseur", "Payé le", "Montant"], "Montant", "Payé le"),
    (["Fournisseur", "Mandaté le", "Montant TTC"], "Montant TTC", "Mandaté le"),
    # a running total is no line's amount
    (["Fournisseur", "Date", "Mandaté cumulé", "Montant mandaté"], "Montant mandaté", "Date"),
    (["Fournisseur", "Date", "Montant", "Solde"], "Montant", "Date"),
    # « net de taxes » is HT: TTC wins
    (["Fournisseur", "Date", "Montant net de taxes", "Montant TTC"], "Montant TTC", "Date"),
    # a due or planned date of payment is no payment
    (["Fournisseur", "Date limite de paiement", "Date mandat", "Montant"], "Montant", "Date mandat"),
    (["Fournisseur", "Date prévisionnelle de paiement", "Date mandat", "Montant"], "Montant", "Date mandat"),
    # unchanged: the payment's own date beats the mandate's, a paid amount beats TTC
    (["Fournisseur", "Date mandat", "Date de paiement", "Montant TTC facture", "Montant mandaté"],
     "Montant mandaté", "Date de paiement"),
    (["Fournisseur", "Date", "Montant net à payer", "Montant TTC"], "Montant net à payer", "Date"),
]


@pytest.mark.parametrize(("header", "amount", "date"), CASES)
def test_amount_and_date_columns(header, amount, date):
    cols = map_headers(header)
    assert header[cols["amount"]] == amount
    assert header[cols["date"]] == date
