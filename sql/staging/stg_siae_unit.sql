-- The units of the inclusive lists (SIAE, EA, ESAT), read by establishment: whether a unit is
-- listed whole (by its SIREN alone), its listed establishments, and how many of its active
-- establishments the lists do not name (a payment or a contract that does not say which
-- establishment may be for one of them). One declaration for the purchase lines
-- (cls_line_unit_status) and the contracts (mart_contracts_summary).
CREATE OR REPLACE TABLE stg_siae_unit AS
WITH listed AS (
    SELECT
        siren,
        bool_or(siret IS NULL) AS is_whole_unit,
        list(DISTINCT siret ORDER BY siret) FILTER (WHERE siret IS NOT NULL) AS sirets
    FROM src_siae
    GROUP BY siren
),

unlisted AS (
    SELECT
        e.siren,
        count(*) AS n
    FROM stg_etablissement AS e
    INNER JOIN listed AS ls USING (siren)
    WHERE e.is_active AND NOT list_contains(coalesce(ls.sirets, []), e.siret)
    GROUP BY e.siren
)

SELECT
    ls.siren,
    ls.is_whole_unit,
    ls.sirets,
    coalesce(u.n, 0) AS unlisted_active
FROM listed AS ls
LEFT JOIN unlisted AS u USING (siren);
