-- Every CPV division a NAF activity can serve, for the ESS offer map. A curated row applies to
-- the NAF codes it names (`naf_codes`: classes or sous-classes, « 81.30Z » for landscaping) or to
-- its whole division; a derived row (share >= 0.2) to its whole division, unless a curated row
-- already maps that division to that CPV division (the curated scope then wins). `naf_prefix` is
-- the beginning a unit's NAF code must have; `mapping_priority` and `mapping_rank` order a unit's
-- divisions (curated first, in file order; then derived, by share) to find its main one.
CREATE OR REPLACE TABLE ref_naf_cpv_all AS
WITH curated AS (
    SELECT
        naf_division,
        unnest(coalesce(
            regexp_split_to_array(nullif(trim(naf_codes), ''), '\s+'), [naf_division]
        )) AS naf_prefix,
        cpv_division,
        1 AS mapping_priority,
        ord::BIGINT AS mapping_rank
    FROM ref_naf_cpv_curated
),
derived AS (
    SELECT
        d.naf_division,
        d.naf_division AS naf_prefix,
        d.cpv_division,
        2 AS mapping_priority,
        row_number() OVER (
            PARTITION BY d.naf_division ORDER BY d.share_of_cpv_division DESC, d.cpv_division ASC
        ) AS mapping_rank
    FROM ref_naf_cpv_derived AS d
    WHERE d.share_of_cpv_division >= 0.2
        AND NOT EXISTS (
            SELECT 1 FROM ref_naf_cpv_curated AS c
            WHERE c.naf_division = d.naf_division AND c.cpv_division = d.cpv_division
        )
)
SELECT naf_division, naf_prefix, cpv_division, min(mapping_priority) AS mapping_priority,
    min(mapping_rank) AS mapping_rank
FROM (
    SELECT * FROM curated
    UNION ALL
    SELECT * FROM derived
) AS rows_
GROUP BY naf_division, naf_prefix, cpv_division;
