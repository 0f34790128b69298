-- Contract view: the buyer's marchés with their estimated end and the local offer for their CPV division.
-- Euro amounts in DECIMAL(18,2), as in every contract view (the DECP reader keeps them as DOUBLE).
CREATE OR REPLACE VIEW contract_renewals AS
SELECT
    * REPLACE (
        amount_initial_eur::DECIMAL(18, 2) AS amount_initial_eur,
        amount_last_eur::DECIMAL(18, 2) AS amount_last_eur
    )
FROM mart_contract_renewals;
