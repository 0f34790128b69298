-- Objective 8 per year (by payment date, or fiscal year for lines without a date).
CREATE OR REPLACE VIEW objective8_by_year AS
SELECT
    coalesce(p.fiscal_year, year(p.purchase_date)) AS year,
    eur_sum(p.amount_eur) AS total_amount_eur,
    eur_sum(r.ess_point_eur) AS ess_amount_eur,
    eur_sum(r.ess_low_eur) AS ess_amount_low_eur,
    eur_sum(r.ess_high_eur) AS ess_amount_high_eur,
    eur_sum(r.ess_point_eur) / nullif(eur_sum(p.amount_eur), 0) AS ess_share,
    eur_sum(CASE WHEN r.match_status = 'matched' AND r.is_esus THEN p.amount_eur END) AS esus_amount_eur,
    eur_sum(CASE WHEN r.match_status = 'matched' AND r.is_inclusive THEN p.amount_eur END) AS inclusive_amount_eur,
    eur_sum(CASE WHEN r.match_status = 'matched' AND (r.is_ess OR r.is_inclusive) THEN p.amount_eur END)
        AS ess_or_inclusive_amount_eur,
    eur_sum(CASE WHEN r.match_status = 'review' THEN p.amount_eur END) AS review_amount_eur,
    eur_sum(CASE WHEN r.match_status = 'unmatched' THEN p.amount_eur END) AS unmatched_amount_eur,
    count(*) AS line_count
FROM purchase_lines AS p
JOIN purchase_lines_resolved AS r USING (line_id)
GROUP BY 1
ORDER BY 1;
COMMENT ON VIEW objective8_by_year IS 'Objectif 8 par année (date de paiement, ou exercice pour les lignes sans date), pour le bilan annuel.';
