-- Objective 8 figures per quarter (the ESS amount with its 90 % interval and its extreme bounds),
-- for lines without a date ('sans date') and for the whole data ('ALL'), so that the periods
-- always add up to ALL for the point estimate (a blocking check verifies it; the 90 % interval is a
-- quantile per period and does not add up across periods). The extreme bounds of each period are
-- those of its own lines, a credit note netted with its payment when the period holds both: a
-- pair split across two quarters nets in ALL, so ALL's extreme bounds lie within the sums of the
-- quarters' (low >= their sum, high <= their sum; a blocking check verifies it).
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
-- 90 % interval of the ESS amount: the supplier of each key with more than one outcome (review,
-- unmatched, decided without review, or accepted by its name alone, which is another unit at the
-- measured error rate) is drawn 1 000 times from its outcomes' probabilities (ess_outcomes of
-- mart_purchase_line_estimate); all lines of a key, and the credit notes that follow them
-- (draw_key), move together. Draws are deterministic (hash of the key and the draw number): one
-- warehouse always gives the same bounds.
uncertain_keys AS (
    SELECT draw_key AS supplier_key, any_value(ess_outcomes) AS outs
    FROM mart_purchase_line_estimate
    WHERE len(ess_outcomes) > 1
    GROUP BY draw_key
),
key_outcomes AS (
    SELECT
        supplier_key, k, p,
        (sum(p) OVER w - p) / sum(p) OVER (PARTITION BY supplier_key) AS lo,
        sum(p) OVER w / sum(p) OVER (PARTITION BY supplier_key) AS hi
    FROM (SELECT supplier_key, unnest(outs, recursive := TRUE) FROM uncertain_keys) AS u
    WINDOW w AS (PARTITION BY supplier_key ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
line_outcomes AS (
    SELECT quarter, draw_key AS supplier_key, amount_eur, unnest(ess_outcomes, recursive := TRUE)
    FROM mart_purchase_line_estimate
    WHERE len(ess_outcomes) > 1
),
key_values AS (
    -- the ESS spending of each key, per period and per outcome of the draw
    SELECT p.period, o.supplier_key, o.k, sum(CASE WHEN o.is_ess THEN o.amount_eur ELSE 0 END) AS value_eur
    FROM periods AS p
    JOIN line_outcomes AS o ON p.period = 'ALL' OR coalesce(o.quarter, 'sans date') = p.period
    GROUP BY ALL
),
key_mode AS (
    -- the most probable outcome of each key: a draw only adds what departs from it (most draws of a
    -- key accepted by its name take it), the same sums with far fewer rows
    SELECT supplier_key, arg_max(k, p) AS k_mode FROM key_outcomes GROUP BY supplier_key
),
other_outcomes AS (
    -- each key's outcomes other than its most probable one, in one list
    SELECT ko.supplier_key, list({ 'k': ko.k, 'lo': ko.lo, 'hi': ko.hi }) AS outs
    FROM key_outcomes AS ko
    JOIN key_mode AS m ON m.supplier_key = ko.supplier_key AND ko.k <> m.k_mode
    GROUP BY ko.supplier_key
),
draws AS (
    -- the draws whose outcome is not the key's most probable one (the uniform number of a draw is
    -- computed once per key and draw, then compared with each of its outcomes' intervals)
    SELECT supplier_key, sim, unnest(list_filter(outs, LAMBDA o: u >= o.lo AND u < o.hi)).k AS k
    FROM (
        SELECT
            oo.supplier_key,
            d.sim,
            oo.outs,
            (hash(oo.supplier_key || ':' || d.sim) % 1000003) / 1000003.0 AS u
        FROM (SELECT unnest(range(1000)) AS sim) AS d
        CROSS JOIN other_outcomes AS oo
    ) AS keyed
),
mode_values AS (
    SELECT kv.period, kv.supplier_key, kv.value_eur
    FROM key_values AS kv
    JOIN key_mode AS m ON m.supplier_key = kv.supplier_key AND m.k_mode = kv.k
),
departures AS (
    SELECT kv.period, d.sim, sum(kv.value_eur - mv.value_eur) AS departure_eur
    FROM draws AS d
    JOIN key_values AS kv USING (supplier_key, k)
    JOIN mode_values AS mv ON mv.period = kv.period AND mv.supplier_key = kv.supplier_key
    GROUP BY kv.period, d.sim
),
simulated AS (
    -- per period and draw: every key at its most probable outcome, plus the departures drawn
    SELECT b.period, d.sim, b.mode_eur + coalesce(dp.departure_eur, 0) AS uncertain_ess_eur
    FROM (SELECT period, sum(value_eur) AS mode_eur FROM mode_values GROUP BY period) AS b
    CROSS JOIN (SELECT unnest(range(1000)) AS sim) AS d
    LEFT JOIN departures AS dp ON dp.period = b.period AND dp.sim = d.sim
),
certain AS (
    -- the part of the point estimate that is not drawn (keys with a single outcome)
    SELECT p.period, eur_sum(o.ess_point_eur) AS certain_eur
    FROM periods AS p
    LEFT JOIN mart_purchase_line_estimate AS o
        ON (p.period = 'ALL' OR coalesce(o.quarter, 'sans date') = p.period) AND coalesce(len(o.ess_outcomes), 0) <= 1
    GROUP BY p.period
),
interval90 AS (
    -- the certain part plus the 5 % and 95 % quantiles of the drawn part
    SELECT
        p.period,
        coalesce(c.certain_eur, 0) + coalesce(quantile_cont(s.uncertain_ess_eur, 0.05), 0) AS q05_eur,
        coalesce(c.certain_eur, 0) + coalesce(quantile_cont(s.uncertain_ess_eur, 0.95), 0) AS q95_eur
    FROM periods AS p
    JOIN certain AS c USING (period)
    LEFT JOIN simulated AS s USING (period)
    GROUP BY p.period, c.certain_eur
),
figures AS (
    SELECT
        p.period,
        eur_sum(o.amount_eur) AS total_amount_eur,
        eur_sum(o.ess_point_eur) AS ess_amount_eur,
        -- ALL nets the credit notes whose payment falls in another quarter (ess_all_*)
        eur_sum(CASE WHEN p.period = 'ALL' THEN o.ess_all_low_eur ELSE o.ess_low_eur END) AS ess_amount_extreme_low_eur,
        eur_sum(CASE WHEN p.period = 'ALL' THEN o.ess_all_high_eur ELSE o.ess_high_eur END)
            AS ess_amount_extreme_high_eur,
        -- what the sure decisions allow: the ESS spending of lines matched by an identifier or a
        -- person, plus every credit (low) or every spend (high) of the other lines (the hard bounds
        -- objective8_recount checks)
        eur_sum(CASE WHEN o.is_certain AND NOT o.is_accepted_by_name AND o.is_ess_at_date THEN o.amount_eur END)
            AS sure_ess_eur,
        eur_sum(CASE WHEN (NOT o.is_certain OR o.is_accepted_by_name) AND o.amount_eur < 0 THEN o.amount_eur END)
            AS uncertain_credit_eur,
        eur_sum(CASE WHEN (NOT o.is_certain OR o.is_accepted_by_name) AND o.amount_eur > 0 THEN o.amount_eur END)
            AS uncertain_spend_eur,
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
bounds AS (
    -- the drawn interval (from the point: a very skewed law can leave the point outside the
    -- quantiles), kept within the extreme bounds (the draws include a missed unit, which they do not
    -- count) and within what the sure decisions allow
    SELECT
        f.period,
        round(least(
            coalesce(f.ess_amount_eur, 0),
            greatest(
                coalesce(f.ess_amount_extreme_low_eur, 0),
                coalesce(f.sure_ess_eur, 0) + coalesce(f.uncertain_credit_eur, 0),
                i.q05_eur
            )
        ), 2)::DECIMAL(18, 2) AS ess_amount_low_eur,
        round(greatest(
            coalesce(f.ess_amount_eur, 0),
            least(
                coalesce(f.ess_amount_extreme_high_eur, 0),
                coalesce(f.sure_ess_eur, 0) + coalesce(f.uncertain_spend_eur, 0),
                i.q95_eur
            )
        ), 2)::DECIMAL(18, 2) AS ess_amount_high_eur
    FROM figures AS f
    JOIN interval90 AS i USING (period)
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
    b.ess_amount_low_eur,
    b.ess_amount_high_eur,
    -- extreme bounds: the worst case (ESS matched by an identifier or a person only / everything
    -- that could be ESS, a key accepted by its name alone being possibly another unit)
    coalesce(f.ess_amount_extreme_low_eur, 0) AS ess_amount_extreme_low_eur,
    coalesce(f.ess_amount_extreme_high_eur, 0) AS ess_amount_extreme_high_eur,
    coalesce(f.ess_amount_eur, 0) / nullif(f.total_amount_eur, 0) AS ess_share,
    -- ordered: when credits exceed spend (total < 0), the higher amount gives the lower share
    least(
        b.ess_amount_low_eur / nullif(f.total_amount_eur, 0), b.ess_amount_high_eur / nullif(f.total_amount_eur, 0)
    ) AS ess_share_low,
    greatest(
        b.ess_amount_low_eur / nullif(f.total_amount_eur, 0), b.ess_amount_high_eur / nullif(f.total_amount_eur, 0)
    ) AS ess_share_high,
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
JOIN bounds AS b USING (period)
ORDER BY f.period = 'ALL', f.period = 'sans date', f.period;
