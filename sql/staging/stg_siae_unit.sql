-- The units of the inclusive lists (SIAE, EA, ESAT), read by establishment: whether a unit is
-- listed whole (by its SIREN alone), its listed establishments, and how many of its active
-- establishments the lists do not name (a payment or a contract that does not say which
-- establishment may be for one of them), its closed establishments and since when its listed
-- establishments still open have existed (a payment to a closed establishment of a unit that
-- moved). One declaration for the purchase lines (cls_line_unit_status) and the contracts
-- (mart_contracts_summary).
CREATE OR REPLACE TABLE stg_siae_unit AS
WITH listed AS (
    SELECT
        siren,
        bool_or(siret IS NULL) AS is_whole_unit,
        list(DISTINCT siret ORDER BY siret) FILTER (WHERE siret IS NOT NULL) AS sirets
    FROM src_siae
    GROUP BY siren
),

closed AS (
    -- closed establishments the lists do not name (a current list names no closed one)
    SELECT
        e.siren,
        list(e.siret ORDER BY e.siret) AS sirets
    FROM stg_etablissement AS e
    INNER JOIN listed AS ls USING (siren)
    WHERE NOT e.is_active AND NOT list_contains(coalesce(ls.sirets, []), e.siret)
    GROUP BY e.siren
),

active_establishments AS (
    SELECT
        e.siren,
        count(*) FILTER (WHERE NOT list_contains(coalesce(ls.sirets, []), e.siret)) AS n,
        -- since when the unit has run the listed establishments still open: a payment to a closed
        -- establishment before that date may predate the unit's inclusive activity
        min(e.creation_date) FILTER (WHERE list_contains(coalesce(ls.sirets, []), e.siret)) AS listed_open_since_date
    FROM stg_etablissement AS e
    INNER JOIN listed AS ls USING (siren)
    WHERE e.is_active
    GROUP BY e.siren
)

SELECT
    ls.siren,
    ls.is_whole_unit,
    ls.sirets,
    coalesce(u.n, 0) AS unlisted_active,
    u.listed_open_since_date,
    c.sirets AS closed_sirets
FROM listed AS ls
LEFT JOIN active_establishments AS u USING (siren)
LEFT JOIN closed AS c USING (siren);
