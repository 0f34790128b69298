-- Suppliers for outputs meant for publication: natural persons (entrepreneurs individuels) and
-- non-diffusible units are never listed one by one, only as one aggregated row per ESS status.
-- NULL-safe: a supplier whose catégorie juridique is unknown is listed, not lost.
CREATE OR REPLACE VIEW suppliers_public AS
SELECT siren, display_name, is_ess, ess_family, evidence, is_inclusive, departement_code, epci_siren,
       matched_amount_eur, matched_line_count
FROM suppliers
WHERE NOT coalesce(is_entrepreneur_individuel, FALSE) AND NOT coalesce(is_non_diffusible, FALSE)
UNION ALL
SELECT
    NULL AS siren,
    'Entrepreneurs individuels et unités non diffusibles (' || count(*) || ')' AS display_name,
    is_ess,
    NULL AS ess_family,
    'Regroupés : personnes physiques ou unités non diffusibles' AS evidence,
    bool_or(is_inclusive) AS is_inclusive,
    NULL AS departement_code,
    NULL AS epci_siren,
    eur_sum(matched_amount_eur) AS matched_amount_eur,
    sum(matched_line_count)::BIGINT AS matched_line_count
FROM suppliers
WHERE coalesce(is_entrepreneur_individuel, FALSE) OR coalesce(is_non_diffusible, FALSE)
GROUP BY is_ess;
