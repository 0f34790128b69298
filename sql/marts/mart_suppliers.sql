-- One row per resolved SIREN with its place and its ESS evidence; names of non-diffusible
-- units are masked here, once, so no output downstream can show them.
CREATE OR REPLACE TABLE mart_suppliers AS
WITH resolved AS (
    SELECT
        siren,
        eur_sum(p.amount_eur) AS amount_eur,
        count(*) AS line_count
    FROM res_purchase_line_supplier AS r
    JOIN stg_purchase_lines AS p USING (line_id)
    WHERE r.match_status = 'matched' AND r.siren IS NOT NULL
    GROUP BY siren
),
place AS (
    SELECT siren, commune_code, departement_code, epci_siren, is_non_diffusible
    FROM stg_etablissement
    QUALIFY row_number() OVER (PARTITION BY siren ORDER BY is_siege DESC, is_active DESC, siret ASC) = 1
)
SELECT
    r.siren,
    CASE
        WHEN coalesce(u.is_non_diffusible, FALSE) OR coalesce(pl.is_non_diffusible, FALSE)
            THEN 'Unité non diffusible'
        ELSE coalesce(u.legal_name, u.usual_name_1, u.sigle, 'SIREN ' || r.siren)
    END AS display_name,
    coalesce(u.is_non_diffusible, FALSE) OR coalesce(pl.is_non_diffusible, FALSE) AS is_non_diffusible,
    -- unknown form: not a natural person
    coalesce(u.categorie_juridique = '1000', FALSE) AS is_entrepreneur_individuel,
    coalesce(s.is_ess, FALSE) AS is_ess,
    s.ess_family,
    nullif(s.ess_sources, '') AS ess_sources,
    nullif(s.evidence, '') AS evidence,
    coalesce(s.is_esus, FALSE) AS is_esus,
    coalesce(s.is_siae, FALSE) AS is_siae,
    coalesce(s.is_ea, FALSE) AS is_ea,
    coalesce(s.is_esat, FALSE) AS is_esat,
    coalesce(s.is_inclusive, FALSE) AS is_inclusive,
    s.siae_kinds AS siae_kind,
    coalesce(s.is_societe_mission, FALSE) AS is_societe_mission,
    u.categorie_juridique,
    u.naf,
    CASE
        WHEN coalesce(u.is_non_diffusible, FALSE) OR coalesce(pl.is_non_diffusible, FALSE) THEN NULL ELSE
            pl.commune_code
    END AS commune_code,
    pl.departement_code,
    pl.epci_siren,
    coalesce(u.is_active, TRUE) AS is_active,
    r.amount_eur AS matched_amount_eur,
    r.line_count AS matched_line_count
FROM resolved AS r
LEFT JOIN stg_unite_legale AS u USING (siren)
LEFT JOIN cls_supplier_status AS s USING (siren)
LEFT JOIN place AS pl USING (siren);
