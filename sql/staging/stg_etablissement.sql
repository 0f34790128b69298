-- One row per SIRET with its place (commune, département, EPCI) and its own names (the loader
-- keeps each SIRET from one file only when several stocks overlap).
CREATE OR REPLACE TABLE stg_etablissement AS
SELECT
    lpad(trim(e.siret), 14, '0') AS siret,
    left(lpad(trim(e.siret), 14, '0'), 9) AS siren,
    coalesce(e.statutDiffusionEtablissement, 'O') IN ('P', 'N') AS is_non_diffusible,
    coalesce(e.etablissementSiege IN ('true', 'True', 'TRUE', 'O', '1'), FALSE) AS is_siege,
    coalesce(e.etatAdministratifEtablissement, 'A') <> 'F' AS is_active,
    try_cast(nullif(trim(e.dateCreationEtablissement), '') AS DATE) AS creation_date,
    nullif(trim(e.codeCommuneEtablissement), '') AS commune_code,
    nullif(trim(e.codePostalEtablissement), '') AS postal_code,
    CASE
        WHEN e.codeCommuneEtablissement LIKE '97%' THEN left(e.codeCommuneEtablissement, 3)
        ELSE nullif(left(e.codeCommuneEtablissement, 2), '')
    END AS departement_code,
    c.epci_siren,
    nullif(trim(e.enseigne1Etablissement), '') AS enseigne_1,
    nullif(trim(e.enseigne2Etablissement), '') AS enseigne_2,
    nullif(trim(e.enseigne3Etablissement), '') AS enseigne_3,
    nullif(trim(e.denominationUsuelleEtablissement), '') AS usual_name,
    nullif(trim(e.activitePrincipaleEtablissement), '') AS naf
FROM src_sirene_etablissement AS e
LEFT JOIN ref_commune AS c ON c.commune_code = e.codeCommuneEtablissement
WHERE e.siret IS NOT NULL;
