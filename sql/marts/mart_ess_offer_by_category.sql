-- Action 1 of Objective 8: what the buyer spends per CPV division beside the local ESS and
-- inclusive units whose activity (NAF) can serve that division.
CREATE OR REPLACE TABLE mart_ess_offer_by_category AS
WITH spend AS (
    SELECT
        cpv_division,
        eur_sum(amount_eur) AS buyer_amount_eur,
        eur_sum(CASE WHEN match_status = 'matched' AND is_ess_at_date THEN amount_eur END) AS buyer_ess_amount_eur,
        eur_sum(CASE WHEN match_status = 'matched' AND is_inclusive_at_date THEN amount_eur END)
            AS buyer_inclusive_amount_eur
    FROM mart_purchase_line_estimate
    WHERE cpv_division IS NOT NULL
    GROUP BY cpv_division
),
offer AS (
    -- the same local units as the named list (ess_sourcing), so that both always agree
    SELECT
        cpv_division,
        count(DISTINCT siren) FILTER (WHERE is_ess) AS local_ess_supplier_count,
        count(DISTINCT siren) FILTER (WHERE is_inclusive) AS local_inclusive_supplier_count
    FROM mart_ess_sourcing
    GROUP BY cpv_division
),
inclusion AS (
    -- the marché de l'inclusion's sector groups (and their 154 sectors) that sell in this division,
    -- so that buyers can look the local inclusive offer up there
    SELECT
        g.cpv_division,
        string_agg(DISTINCT g.group_name, ' ; ' ORDER BY g.group_name) AS inclusion_sector_groups,
        count(DISTINCT s.sector_id) AS inclusion_sector_count
    FROM ref_inclusion_group_cpv AS g
    JOIN ref_inclusion_sector AS s USING (group_id)
    GROUP BY g.cpv_division
)
SELECT
    d.cpv_division,
    l.label AS cpv_label,
    coalesce(s.buyer_amount_eur, 0) AS buyer_amount_eur,
    coalesce(s.buyer_ess_amount_eur, 0) AS buyer_ess_amount_eur,
    coalesce(s.buyer_inclusive_amount_eur, 0) AS buyer_inclusive_amount_eur,
    coalesce(o.local_ess_supplier_count, 0) AS local_ess_supplier_count,
    coalesce(o.local_inclusive_supplier_count, 0) AS local_inclusive_supplier_count,
    i.inclusion_sector_groups,
    coalesce(i.inclusion_sector_count, 0) AS inclusion_sector_count
FROM (SELECT cpv_division FROM spend
UNION
SELECT cpv_division FROM offer) AS d
LEFT JOIN spend AS s USING (cpv_division)
LEFT JOIN offer AS o USING (cpv_division)
LEFT JOIN inclusion AS i USING (cpv_division)
LEFT JOIN ref_cpv_division AS l USING (cpv_division)
ORDER BY buyer_amount_eur DESC, d.cpv_division ASC;
