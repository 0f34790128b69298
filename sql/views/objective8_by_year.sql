-- Objective 8 per year (the line's budget year: its Exercice, else its payment date's year), one
-- 'sans date' row for accepted lines with neither, and one 'ALL' row: the years and 'sans date'
-- add up to ALL (a blocking check verifies it), but for the extreme bounds, which net a credit note
-- with its payment in a later year in ALL only (ALL's lie within the sums of the years').
-- A line with an Exercice but no date counts in its year and in its year's undated_* columns: it
-- is in no quarter of objective8_summary but in its 'sans date' row, so a year minus its undated
-- part equals the sum of its quarters (a blocking check verifies it).
CREATE OR REPLACE VIEW objective8_by_year AS
WITH lines AS (
    SELECT
        coalesce(p.fiscal_year, year(p.purchase_date)) AS year,
        p.amount_eur,
        p.quarter IS NULL AS is_undated,
        r.* EXCLUDE (line_id)
    FROM purchase_lines AS p
    JOIN purchase_lines_resolved AS r USING (line_id)
    WHERE p.status = 'ok'
),
tagged AS (
    SELECT coalesce(year::VARCHAR, 'sans date') AS period, year, * EXCLUDE (year) FROM lines
    UNION ALL
    SELECT 'ALL' AS period, NULL AS year, * EXCLUDE (year) FROM lines
)
SELECT
    period,
    year::BIGINT AS year,
    coalesce(eur_sum(amount_eur), 0) AS total_amount_eur,
    coalesce(eur_sum(ess_point_eur), 0) AS ess_amount_eur,
    -- extreme bounds of the year's own lines, a credit note netted with its payment when both fall
    -- in the period (the year, or ALL): ALL's lie within the sums of the years'
    coalesce(eur_sum(CASE WHEN period = 'ALL' THEN ess_all_low_eur ELSE ess_year_low_eur END), 0)
        AS ess_amount_extreme_low_eur,
    coalesce(eur_sum(CASE WHEN period = 'ALL' THEN ess_all_high_eur ELSE ess_year_high_eur END), 0)
        AS ess_amount_extreme_high_eur,
    eur_sum(ess_point_eur) / nullif(eur_sum(amount_eur), 0) AS ess_share,
    coalesce(eur_sum(CASE WHEN match_status = 'matched' AND is_esus_at_line_date THEN amount_eur END), 0)
        AS esus_amount_eur,
    coalesce(eur_sum(CASE WHEN match_status = 'matched' AND is_inclusive_at_line_date THEN amount_eur END), 0)
        AS inclusive_amount_eur,
    coalesce(
        eur_sum(
            CASE
                WHEN match_status = 'matched' AND (is_ess_at_line_date OR is_inclusive_at_line_date) THEN amount_eur
            END
        ),
        0
    )
        AS ess_or_inclusive_amount_eur,
    coalesce(eur_sum(CASE WHEN match_status = 'review' THEN amount_eur END), 0) AS review_amount_eur,
    coalesce(eur_sum(CASE WHEN match_status = 'unmatched' THEN amount_eur END), 0) AS unmatched_amount_eur,
    count(*) AS line_count,
    -- the part in objective8_summary's 'sans date' row, in no quarter
    coalesce(eur_sum(CASE WHEN is_undated THEN amount_eur END), 0) AS undated_amount_eur,
    coalesce(eur_sum(CASE WHEN is_undated THEN ess_point_eur END), 0) AS undated_ess_amount_eur,
    count(*) FILTER (WHERE is_undated) AS undated_line_count
FROM tagged
GROUP BY period, year
UNION ALL
-- 'sans date' is always there, even at zero
SELECT 'sans date', NULL, 0, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0
WHERE NOT EXISTS (SELECT 1 FROM lines WHERE year IS NULL)
ORDER BY period = 'ALL', period = 'sans date', year;
