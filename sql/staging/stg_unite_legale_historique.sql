-- Periods of each unit's history (StockUniteLegaleHistorique), when the file is provided:
-- the legal form, ESS flag and state valid between start_date and end_date.
CREATE OR REPLACE TABLE stg_unite_legale_historique AS
SELECT
    lpad(trim(siren), 9, '0') AS siren,
    try_cast(dateDebut AS DATE) AS start_date,
    try_cast(dateFin AS DATE) AS end_date,
    nullif(trim(categorieJuridiqueUniteLegale), '') AS categorie_juridique,
    nullif(trim(economieSocialeSolidaireUniteLegale), '') AS insee_ess_flag,
    coalesce(etatAdministratifUniteLegale, 'A') <> 'C' AS is_active
FROM src_sirene_unite_legale_historique
WHERE siren IS NOT NULL;
