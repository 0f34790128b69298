-- Objective 8 figures per quarter (the ESS amount with its 90 % interval and its extreme bounds), for lines without a date ('sans date') and for the whole data
-- ('ALL'), so that the periods always add up to ALL (a blocking check verifies it).
-- Identity checked by tests: total = matched ESS + matched non-ESS + review + unmatched
-- (quarantined lines are apart). line_count = ok + quarantined lines; rows of a file that
-- duplicates another file (status 'duplicate') count nowhere and are only reported in
-- duplicate_line_count / duplicate_amount_eur.
CREATE OR REPLACE TABLE mart_objective8_summary AS
WITH all_lines AS (
    SELECT line_id, coalesce(quarter, 'sans date') AS period, status, amount_eur FROM stg_purchase_lines
),
ok AS (
    SELECT * FROM mart_purchase_line_estimate
),
periods AS (
    -- 'sans date' is always there, even at zero, so readers never have to guess where undated lines went
    SELECT DISTINCT period FROM all_lines WHERE period <> 'sans date'
    UNION ALL
    SELECT 'sans date'
    UNION ALL
    SELECT 'ALL'
),
-- Intervalle à 90 % de la dépense ESS : le fournisseur de chaque clé encore incertaine (à vérifier
-- ou non rapprochée) est tiré 1 000 fois selon les probabilités de ses candidats (ess_outcomes de
-- mart_purchase_line_estimate) ; toutes les lignes d'une clé bougent ensemble. Tirages
-- déterministes (hachage de la clé et du numéro de tirage) : un même entrepôt donne les mêmes bornes.
uncertain_keys AS (
    SELECT supplier_key, any_value(ess_outcomes) AS outs
    FROM ok
    WHERE len(ess_outcomes) > 1
    GROUP BY supplier_key
),
key_outcomes AS (
    SELECT supplier_key, k, p,
           (sum(p) OVER w - p) / sum(p) OVER (PARTITION BY supplier_key) AS lo,
           sum(p) OVER w / sum(p) OVER (PARTITION BY supplier_key) AS hi
    FROM (SELECT supplier_key, unnest(outs, recursive := true) FROM uncertain_keys)
    WINDOW w AS (PARTITION BY supplier_key ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
key_values AS (
    -- la dépense ESS de chaque clé, par période et par issue du tirage
    SELECT p.period, o.supplier_key, oc.k, sum(CASE WHEN oc.is_ess THEN o.amount_eur ELSE 0 END) AS value
    FROM periods AS p
    JOIN ok AS o ON p.period = 'ALL' OR coalesce(o.quarter, 'sans date') = p.period
    CROSS JOIN unnest(o.ess_outcomes) AS t(oc)
    WHERE len(o.ess_outcomes) > 1
    GROUP BY ALL
),
draws AS (
    SELECT ko.supplier_key, d.sim, ko.k
    FROM range(1000) AS d(sim)
    CROSS JOIN (SELECT DISTINCT supplier_key FROM uncertain_keys) AS uk
    JOIN key_outcomes AS ko ON ko.supplier_key = uk.supplier_key
        AND (hash(uk.supplier_key || ':' || d.sim) % 1000003) / 1000003.0 >= ko.lo
        AND (hash(uk.supplier_key || ':' || d.sim) % 1000003) / 1000003.0 < ko.hi
),
simulated AS (
    SELECT kv.period, d.sim, sum(kv.value) AS uncertain_ess
    FROM key_values AS kv
    JOIN draws AS d USING (supplier_key, k)
    GROUP BY kv.period, d.sim
),
interval90 AS (
    -- la part certaine (clés à une seule issue) plus les quantiles 5 % et 95 % de la part tirée
    SELECT
        p.period,
        coalesce((SELECT sum(o.ess_point_eur) FROM ok AS o
                  WHERE coalesce(len(o.ess_outcomes), 0) <= 1 AND (p.period = 'ALL' OR coalesce(o.quarter, 'sans date') = p.period)), 0)
            AS certain_eur,
        quantile_cont(s.uncertain_ess, 0.05) AS q05,
        quantile_cont(s.uncertain_ess, 0.95) AS q95
    FROM periods AS p
    LEFT JOIN simulated AS s USING (period)
    GROUP BY p.period
),
figures AS (
    SELECT
        p.period,
        eur_sum(o.amount_eur) AS total_amount_eur,
        eur_sum(o.ess_point_eur) AS ess_amount_eur,
        eur_sum(o.ess_low_eur) AS ess_amount_extreme_low_eur,
        eur_sum(o.ess_high_eur) AS ess_amount_extreme_high_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND o.is_ess_at_date THEN o.amount_eur END) AS matched_ess_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND NOT o.is_ess_at_date THEN o.amount_eur END) AS matched_non_ess_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'unmatched' THEN o.amount_eur END) AS unmatched_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'review' THEN o.amount_eur END) AS review_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND o.is_esus_at_date THEN o.amount_eur END) AS esus_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND o.is_inclusive_at_date THEN o.amount_eur END) AS inclusive_amount_eur,
        eur_sum(CASE WHEN o.match_status = 'matched' AND (o.is_ess_at_date OR o.is_inclusive_at_date) THEN o.amount_eur END)
            AS ess_or_inclusive_amount_eur,
        count(DISTINCT o.siren) FILTER (WHERE o.match_status = 'matched' AND o.is_ess_at_date) AS ess_supplier_count
    FROM periods AS p
    LEFT JOIN ok AS o ON p.period = 'ALL' OR coalesce(o.quarter, 'sans date') = p.period
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
    -- intervalle à 90 % ; élargi au besoin pour contenir l'estimation (une loi très asymétrique peut
    -- la laisser hors des quantiles) et borné par les bornes extrêmes
    round(least(coalesce(f.ess_amount_eur, 0), greatest(coalesce(f.ess_amount_extreme_low_eur, 0),
                i.certain_eur + coalesce(i.q05, 0))), 2) AS ess_amount_low_eur,
    round(greatest(coalesce(f.ess_amount_eur, 0), least(coalesce(f.ess_amount_extreme_high_eur, 0),
                   i.certain_eur + coalesce(i.q95, 0))), 2) AS ess_amount_high_eur,
    -- bornes extrêmes : le pire des cas (rapprochés ESS seuls / tout ce qui pourrait être ESS)
    coalesce(f.ess_amount_extreme_low_eur, 0) AS ess_amount_extreme_low_eur,
    coalesce(f.ess_amount_extreme_high_eur, 0) AS ess_amount_extreme_high_eur,
    coalesce(f.ess_amount_eur, 0) / nullif(f.total_amount_eur, 0) AS ess_share,
    round(least(coalesce(f.ess_amount_eur, 0), greatest(coalesce(f.ess_amount_extreme_low_eur, 0),
                i.certain_eur + coalesce(i.q05, 0))), 2) / nullif(f.total_amount_eur, 0) AS ess_share_low,
    round(greatest(coalesce(f.ess_amount_eur, 0), least(coalesce(f.ess_amount_extreme_high_eur, 0),
                   i.certain_eur + coalesce(i.q95, 0))), 2) / nullif(f.total_amount_eur, 0) AS ess_share_high,
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
JOIN interval90 AS i USING (period)
ORDER BY f.period = 'ALL', f.period = 'sans date', f.period;
