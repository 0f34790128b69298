-- Contract view: one row per `ok` line with its supplier and ESS status at the line's date.
CREATE OR REPLACE VIEW purchase_lines_resolved AS
WITH ceased_period AS (
    -- with the SIRENE history, the start of the ceased period the line's status date falls in
    SELECT r.line_id, max(h.start_date) AS ceased_date
    FROM res_purchase_line_supplier AS r
    JOIN cls_purchase_line_status AS c USING (line_id)
    JOIN stg_unite_legale_historique AS h ON h.siren = r.siren AND NOT h.is_active AND h.start_date <= c.status_date
    GROUP BY r.line_id
)
SELECT
    r.line_id,
    r.siren,
    r.siret,
    r.match_method,
    r.match_score,
    r.match_status,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE coalesce(c.is_ess_at_date, FALSE) END AS is_ess_at_line_date,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE c.ess_family END AS ess_family,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE c.ess_basis END AS ess_basis_at_line_date,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE coalesce(c.is_esus_at_date, FALSE) END
        AS is_esus_at_line_date,
    CASE WHEN r.match_status = 'unmatched' THEN NULL ELSE coalesce(c.is_inclusive_at_date, FALSE) END
        AS is_inclusive_at_line_date,
    -- a payment to a unit ceased on its date counts non-ESS, and says so: the money can only have
    -- gone to a successor or a liquidator, which a person checks. The reason gives the unit's
    -- cessation date (SIRENE history, else the unit's) and the date its status was taken at
    r.match_reason || CASE WHEN r.match_status = 'matched' AND c.is_known_unit AND NOT c.is_active_at_date
        THEN ' ; unité déjà cessée'
            || coalesce(' le ' || strftime(coalesce(cp.ceased_date, s.ceased_date), '%d/%m/%Y'),
                        ' (date de cessation inconnue)')
            || ' (statut retenu au ' || strftime(c.status_date, '%d/%m/%Y')
            || CASE WHEN coalesce(c.status_line_id <> r.line_id, FALSE) THEN ', date du paiement annulé' ELSE '' END
            || ') : comptée non ESS ; bénéficiaire réel à vérifier (successeur, liquidateur)'
        ELSE '' END AS match_reason,
    r.id_flag,
    e.ess_low_eur,
    e.ess_point_eur,
    e.ess_high_eur,
    e.ess_year_low_eur,
    e.ess_year_high_eur,
    e.ess_all_low_eur,
    e.ess_all_high_eur,
    e.cpv_division,
    e.cpv_division_source
FROM res_purchase_line_supplier AS r
LEFT JOIN cls_purchase_line_status AS c USING (line_id)
LEFT JOIN mart_purchase_line_estimate AS e USING (line_id)
LEFT JOIN cls_supplier_status AS s ON s.siren = r.siren
LEFT JOIN ceased_period AS cp USING (line_id);
