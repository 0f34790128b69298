-- The one CPV division a NAF division's output most often falls in: curated first, derived second.
CREATE OR REPLACE TABLE ref_naf_cpv_primary AS
WITH curated AS (
    SELECT naf_division, cpv_division, 1 AS priority, ord AS rank_in_source
    FROM ref_naf_cpv_curated
),
derived AS (
    SELECT naf_division, cpv_division, 2 AS priority,
        row_number()
            OVER (PARTITION BY naf_division ORDER BY share_of_cpv_division DESC, cpv_division ASC)
            AS rank_in_source
    FROM ref_naf_cpv_derived
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY naf_division ORDER BY priority, rank_in_source) AS rn
    FROM (
        SELECT * FROM curated
        UNION ALL
        SELECT * FROM derived
    ) AS candidates
)
SELECT naf_division, cpv_division, CASE priority WHEN 1 THEN 'curated' ELSE 'equinox' END AS mapping_source
FROM ranked
WHERE rn = 1;
