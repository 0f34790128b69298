-- Notified amounts of the buyer's contracts (DECP), apart from paid amounts: per notification
-- year and overall, the share with a social consideration and the share to ESS or inclusive
-- titulaires. A contract republished with the same uid is counted once.
CREATE OR REPLACE TABLE mart_contracts_summary AS
WITH contracts AS (
    SELECT *
    FROM src_contracts
    WHERE status = 'ok'
    QUALIFY row_number() OVER (PARTITION BY contract_uid, coalesce(titulaire_id_raw, '') ORDER BY source_file, source_index) = 1
),
classified AS (
    SELECT
        c.*,
        CAST(year(c.notification_date) AS VARCHAR) AS notification_year,
        coalesce(s.is_active OR s.ceased_on > c.notification_date, false)
            AND coalesce(s.manual_is_ess, s.is_ess_undated OR EXISTS (
                SELECT 1 FROM src_esus e WHERE e.siren = c.titulaire_siren
                    AND c.notification_date BETWEEN e.date_agrement AND e.date_fin_agrement), false) AS is_ess,
        coalesce(s.is_inclusive, false) AS is_inclusive
    FROM contracts AS c
    LEFT JOIN cls_supplier_status AS s ON s.siren = c.titulaire_siren
),
periods AS (
    SELECT DISTINCT notification_year AS period FROM classified UNION ALL SELECT 'ALL'
)
SELECT
    p.period,
    count(DISTINCT c.contract_uid) AS contract_count,
    eur_sum(c.amount_eur) AS notified_amount_eur,
    eur_sum(CASE WHEN c.has_social_consideration THEN c.amount_eur END) AS social_consideration_amount_eur,
    eur_sum(CASE WHEN c.is_ess THEN c.amount_eur END) AS ess_titulaire_amount_eur,
    eur_sum(CASE WHEN c.is_inclusive THEN c.amount_eur END) AS inclusive_titulaire_amount_eur,
    eur_sum(CASE WHEN c.has_social_consideration THEN c.amount_eur END) / nullif(eur_sum(c.amount_eur), 0)
        AS social_consideration_share,
    eur_sum(CASE WHEN c.is_ess THEN c.amount_eur END) / nullif(eur_sum(c.amount_eur), 0) AS ess_titulaire_share
FROM periods AS p
LEFT JOIN classified AS c ON p.period = 'ALL' OR c.notification_year = p.period
GROUP BY p.period
ORDER BY p.period = 'ALL', p.period;
