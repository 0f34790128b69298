-- Objective 8 figures per quarter, for lines without a date ('sans date') and for the whole data
-- ('ALL'), so that the periods always add up to ALL (a blocking check verifies it).
-- Identity checked by tests: total = matched ESS + matched non-ESS + review + unmatched
-- (quarantined lines are apart). line_count = ok + quarantined lines; rows of a file that
-- duplicates another file (status 'duplicate') count nowhere and are only reported in
-- duplicate_line_count / duplicate_amount_eur.
CREATE OR REPLACE TABLE mart_objective8_summary AS
WITH all_lines AS (
    SELECT line_id, coalesce(quarter, 'sans date') AS period, status, amount_eur FROM stg_purchase_lines
),
periods AS (
    -- 'sans date' is always there, even at zero, so readers never have to guess where undated lines went
    SELECT DISTINCT period FROM all_lines WHERE period <> 'sans date'
    UNION ALL
    SELECT 'sans date'
    UNION ALL
    SELECT 'ALL'
),
figures AS (
    SELECT
        p.period,
        eur_sum(o.amount_eur) AS total_amount_eur,
        eur_sum(o.ess_point_eur) AS ess_amount_eur,
        eur_sum(o.ess_low_eur) AS ess_amount_low_eur,
        eur_sum(o.ess_high_eur) AS ess_amount_high_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND o.is_ess_at_date THEN o.amount_eur END)
            AS matched_ess_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND NOT o.is_ess_at_date THEN o.amount_eur END)
            AS matched_non_ess_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'unmatched' THEN o.amount_eur END) AS unmatched_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'review' THEN o.amount_eur END) AS review_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND o.is_esus_at_date THEN o.amount_eur END) AS esus_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND o.is_inclusive_at_date THEN o.amount_eur END)
            AS inclusive_amount_eur,
        eur_sum(
            CASE WHEN o.match_status = 'matched' AND (o.is_ess_at_date OR o.is_inclusive_at_date) THEN o.amount_eur END
        )
            AS ess_or_inclusive_amount_eur,
        count(DISTINCT o.siren) FILTER (WHERE o.match_status = 'matched' AND o.is_ess_at_date) AS ess_supplier_count
    FROM periods AS p
    LEFT JOIN mart_purchase_line_estimate AS o ON p.period = 'ALL' OR coalesce(o.quarter, 'sans date') = p.period
    GROUP BY p.period
),
counts AS (
    SELECT
        p.period,
        count(a.line_id) FILTER (WHERE a.status IN ('ok', 'quarantined')) AS line_count,
        count(a.line_id) FILTER (WHERE a.status = 'quarantined') AS quarantined_line_count,
        eur_sum(CASE WHEN a.status = 'quarantined' THEN a.amount_eur END) AS quarantined_amount_eur,
        count(a.line_id) FILTER (WHERE a.status = 'duplicate') AS duplicate_line_count,
        eur_sum(CASE WHEN a.status = 'duplicate' THEN a.amount_eur END) AS duplicate_amount_eur
    FROM periods AS p
    LEFT JOIN all_lines AS a ON p.period = 'ALL' OR a.period = p.period
    GROUP BY p.period
)
SELECT
    f.period,
    coalesce(f.total_amount_eur, 0) AS total_amount_eur,
    coalesce(f.ess_amount_eur, 0) AS ess_amount_eur,
    coalesce(f.ess_amount_low_eur, 0) AS ess_amount_low_eur,
    coalesce(f.ess_amount_high_eur, 0) AS ess_amount_high_eur,
    coalesce(f.ess_amount_eur, 0) / nullif(f.total_amount_eur, 0) AS ess_share,
    coalesce(f.ess_amount_low_eur, 0) / nullif(f.total_amount_eur, 0) AS ess_share_low,
    coalesce(f.ess_amount_high_eur, 0) / nullif(f.total_amount_eur, 0) AS ess_share_high,
    coalesce(f.matched_ess_amount_eur, 0) AS matched_ess_amount_eur,
    coalesce(f.matched_non_ess_amount_eur, 0) AS matched_non_ess_amount_eur,
    coalesce(f.unmatched_amount_eur, 0) AS unmatched_amount_eur,
    coalesce(f.review_amount_eur, 0) AS review_amount_eur,
    coalesce(f.esus_amount_eur, 0) AS esus_amount_eur,
    coalesce(f.inclusive_amount_eur, 0) AS inclusive_amount_eur,
    coalesce(f.ess_or_inclusive_amount_eur, 0) AS ess_or_inclusive_amount_eur,
    coalesce(f.ess_supplier_count, 0) AS ess_supplier_count,
    c.line_count,
    c.quarantined_line_count,
    coalesce(c.quarantined_amount_eur, 0) AS quarantined_amount_eur,
    c.duplicate_line_count,
    coalesce(c.duplicate_amount_eur, 0) AS duplicate_amount_eur
FROM figures AS f
JOIN counts AS c USING (period)
ORDER BY f.period = 'ALL', f.period = 'sans date', f.period;
