-- Suppliers for outputs meant for publication: natural persons (entrepreneurs individuels) and
-- non-diffusible units are never listed one by one, only as one aggregated row per ESS status.
-- NULL-safe: a supplier whose catégorie juridique is unknown is listed, not lost.
CREATE OR REPLACE VIEW suppliers_public AS
SELECT siren, display_name, is_ess, ess_family, evidence, is_inclusive, departement_code, epci_siren,
       matched_amount_eur, matched_line_count
FROM suppliers
WHERE NOT coalesce(is_entrepreneur_individuel, false) AND NOT coalesce(is_non_diffusible, false)
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
    sum(matched_amount_eur) AS matched_amount_eur,
    sum(matched_line_count) AS matched_line_count
FROM suppliers
WHERE coalesce(is_entrepreneur_individuel, false) OR coalesce(is_non_diffusible, false)
GROUP BY is_ess;
COMMENT ON VIEW suppliers_public IS 'Fournisseurs publiables : les entrepreneurs individuels et les unités non diffusibles sont regroupés en une ligne par statut ESS.';
