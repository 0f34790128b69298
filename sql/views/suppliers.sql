-- Contract view: one row per resolved SIREN; names of non-diffusible units are masked.
CREATE OR REPLACE VIEW suppliers AS
SELECT
    siren, display_name, is_ess, ess_family, ess_sources, evidence, is_esus, is_siae, siae_kind,
    is_ea, is_esat, is_inclusive, is_societe_mission, naf, commune_code, departement_code,
    epci_siren, categorie_juridique, is_active, is_non_diffusible, is_entrepreneur_individuel,
    matched_amount_eur, matched_line_count
FROM mart_suppliers;
