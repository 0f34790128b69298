-- For each titulaire, the CPV division in which the buyer notified it the largest amount.
CREATE OR REPLACE TABLE stg_supplier_contract_cpv AS
WITH by_division AS (
    SELECT titulaire_siren AS siren, cpv_division, sum(coalesce(amount_eur, 0)) AS amount_eur
    FROM src_contracts
    WHERE status = 'ok' AND NOT is_duplicate AND titulaire_siren IS NOT NULL AND cpv_division IS NOT NULL
    GROUP BY ALL
)
SELECT siren, cpv_division
FROM by_division
QUALIFY row_number() OVER (PARTITION BY siren ORDER BY amount_eur DESC, cpv_division ASC) = 1;
