CREATE OR REPLACE VIEW contracts_summary AS
SELECT * FROM mart_contracts_summary;
COMMENT ON VIEW contracts_summary IS 'Marchés notifiés (DECP), à part des montants payés : montant notifié par année, part avec une considération sociale, part attribuée à des titulaires ESS ou inclusifs (montant partagé entre cotitulaires).';
