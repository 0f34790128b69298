-- Contract view: one row per `ok` line with its supplier and ESS status at the line's date.
CREATE OR REPLACE VIEW purchase_lines_resolved AS
SELECT
    r.line_id,
    r.siren,
    r.siret,
    r.match_method,
    r.match_score,
    r.match_status,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE coalesce(c.is_ess_at_date, false) END AS is_ess,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE c.ess_family END AS ess_family,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE coalesce(c.is_esus_at_date, false) END AS is_esus,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE coalesce(c.is_inclusive_at_date, false) END AS is_inclusive,
    r.match_reason,
    r.id_flag,
    e.ess_low_eur,
    e.ess_point_eur,
    e.ess_high_eur,
    e.cpv_division,
    e.cpv_division_source
FROM res_purchase_line_supplier AS r
LEFT JOIN cls_purchase_line_status AS c USING (line_id)
LEFT JOIN mart_purchase_line_estimate AS e USING (line_id);
COMMENT ON VIEW purchase_lines_resolved IS 'Une ligne par ligne acceptée : fournisseur retrouvé (SIREN), méthode, score et statut ESS à la date de la ligne.';
COMMENT ON COLUMN purchase_lines_resolved.match_method IS 'siret | siren | name_exact | name_fuzzy | override | unmatched';
COMMENT ON COLUMN purchase_lines_resolved.match_score IS 'Confiance dans le rapprochement, de 0 à 1.';
COMMENT ON COLUMN purchase_lines_resolved.match_status IS 'matched (accepté) | review (à vérifier, SIREN proposé) | unmatched';
COMMENT ON COLUMN purchase_lines_resolved.is_ess IS 'Fournisseur ESS à la date de la ligne (NULL si non rapproché).';
COMMENT ON COLUMN purchase_lines_resolved.match_reason IS 'Explication en français du rapprochement.';
