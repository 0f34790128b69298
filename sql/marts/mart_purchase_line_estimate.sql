-- One row per `ok` line with its share in the ESS estimate: point, and extreme low and high bounds.
-- Point: amount × probability that the supplier is ESS at the date, read from the possible
-- outcomes of the line's supplier (`ess_outcomes`, drawn by the 90 % interval of
-- mart_objective8_summary): its candidates' probabilities, or, for a key accepted by its name
-- alone, the accepted unit with probability 1 − $accept_error_rate and else an unknown unit. One
-- list for the point, the interval and the extreme bounds (« bornes extrêmes »: every outcome but a
-- missed unit taken as possible; low = the worst, high = the best). A credit note moves with the
-- payment it reverses (cls_line_reversal) when both share their outcomes: one draw, and within a
-- period that holds both one net amount in the extreme bounds: ess_low/high_eur for the quarter,
-- ess_year_low/high_eur for the year, ess_all_low/high_eur for ALL (a pair split across quarters
-- nets in its year and in ALL). extreme low <= point <= extreme high, line by line, at each grain.
CREATE OR REPLACE TABLE mart_purchase_line_estimate AS
WITH lines AS (
    SELECT
        p.line_id, p.quarter, p.fiscal_year, p.amount_eur,
        -- the line's year in objective8_by_year (its Exercice, else its payment date's year)
        coalesce(p.fiscal_year::VARCHAR, year(p.purchase_date)::VARCHAR, 'sans date') AS year_period,
        coalesce(lm.buying_entity, p.buying_entity) AS buying_entity, coalesce(lm.category, p.category) AS category,
        -- names of non-diffusible units masked
        p.category_cpv, coalesce(lm.supplier_name, p.supplier_name) AS supplier_name,
        r.siren, r.match_status, r.match_score, r.supplier_key, r.has_ess_marker, r.match_method,
        coalesce(m.has_uninformative_name, FALSE) AS has_uninformative_name,
        -- certain: matched, and not decided without review (whose candidates keep their probabilities)
        r.match_status = 'matched' AND NOT coalesce(m.is_decided_without_review, FALSE) AS is_certain,
        -- accepted by its name alone: another unit $accept_error_rate of the time on the benchmark's
        -- fit split (an identifier confirmed by the name, or a person's decision, is taken as sure)
        r.match_status = 'matched' AND NOT coalesce(m.is_decided_without_review, FALSE)
        AND r.match_method IN ('name_exact', 'name_fuzzy') AS is_accepted_by_name,
        coalesce(c.is_ess_at_date, FALSE) AS is_ess_at_date,
        -- matched to a unit already ceased at the date: the money may still be its own (a late
        -- invoice, its liquidation), so the extreme bounds keep its status but for the cessation
        r.match_status = 'matched' AND coalesce(c.is_known_unit AND NOT c.is_active_at_date, FALSE) AS is_ceased_payee,
        coalesce(c.is_esus_at_date, FALSE) AS is_esus_at_date,
        coalesce(c.is_inclusive_at_date, FALSE) AS is_inclusive_at_date,
        c.ess_family
    FROM stg_purchase_lines AS p
    JOIN res_purchase_line_supplier AS r USING (line_id)
    LEFT JOIN res_supplier_match AS m ON m.supplier_key = r.supplier_key
    LEFT JOIN cls_purchase_line_status AS c USING (line_id)
    LEFT JOIN res_line_mask AS lm USING (line_id)
    WHERE p.status = 'ok'
),
marker_rate AS (
    -- among matched lines whose name carries an ESS word, the share that is ESS: the chance that a
    -- supplier with such a word, found in no candidate, is ESS
    SELECT coalesce(sum(CASE WHEN is_ess_at_date THEN 1 ELSE 0 END) / nullif(count(*), 0), 0.5) AS rate
    FROM lines
    WHERE match_status = 'matched' AND has_ess_marker
),
plain_rate AS (
    -- the same share among matched lines without such a word: the chance that a real unit the
    -- matcher missed is ESS
    SELECT coalesce(sum(CASE WHEN is_ess_at_date THEN 1 ELSE 0 END) / nullif(count(*), 0), 0.0) AS rate
    FROM lines
    WHERE is_certain AND NOT has_ess_marker
),
none_ess AS (
    -- the chance that « none of the candidates » (or, for a key accepted by its name, « another unit
    -- than the accepted one ») is ESS, per line: the marker rate for a name with an ESS word;
    -- otherwise the share of « none » that is a unit the matcher missed (shipped model, measured on
    -- the benchmark's fit split: for a wrong acceptance, the share whose true unit is a real one;
    -- for a name that names no one, « SARL », a real supplier the name cannot find, whatever the
    -- decision; else by decision class) times the plain rate
    SELECT
        l.line_id,
        CASE
            WHEN l.has_ess_marker THEN mr.rate
            WHEN l.is_accepted_by_name THEN $missed_share_accepted * pr.rate
            WHEN l.has_uninformative_name THEN $missed_share_uninformative * pr.rate
            WHEN l.match_status = 'unmatched' THEN $missed_share_unmatched * pr.rate
            ELSE $missed_share_review * pr.rate
        END AS share,
        -- 98: ESS by the name's ESS word; 96: a missed unit, which the extreme bounds do not count
        CASE WHEN l.has_ess_marker THEN 98 ELSE 96 END AS k_ess
    FROM lines AS l
    CROSS JOIN marker_rate AS mr
    CROSS JOIN plain_rate AS pr
    WHERE NOT l.is_certain OR l.is_accepted_by_name
),
candidates AS (
    -- the probabilities of a key's candidates (scaled down if they add up to more than 1, as
    -- the API's proposals, which carry no probability, may)
    SELECT
        mc.supplier_key, mc.rank, mc.siren,
        mc.score / greatest(1.0, sum(mc.score) OVER (PARTITION BY mc.supplier_key)) AS p
    FROM res_match_candidates AS mc
    WHERE mc.score > 0
),
set_aside AS (
    -- the unit a valid identifier on the line designates when the decision is another unit: it
    -- weighs nothing in the point or the interval, but the extreme bounds keep it as possible
    SELECT m.supplier_key, m.id_siren
    FROM res_supplier_match AS m
    WHERE m.id_siren IS NOT NULL
),
outcomes AS (
    -- what the supplier of a line not yet matched may be: each candidate (ESS by its status at the
    -- line's date, cls_line_unit_status, as a matched line), or none of them (ESS by none_ess). A
    -- line matched by an identifier or a person's decision counts as certain: one outcome, its
    -- unit's status at the date; one accepted by its name alone is that unit with probability
    -- 1 − $accept_error_rate, else another unit (ESS by none_ess); a line decided without review is
    -- not certain: its candidates.
    -- Rank 0: the matched unit; 95: a ceased matched unit paid all the same; 96: none, a missed
    -- unit, ESS; 97: the identifier's unit set aside; 98: none, ESS by its name's ESS word; 99: none,
    -- not ESS.
    SELECT l.line_id, c.rank AS k, c.p, coalesce(us.is_ess_at_date, FALSE) AS is_ess
    FROM lines AS l
    JOIN candidates AS c USING (supplier_key)
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = c.siren
    WHERE NOT l.is_certain
    UNION ALL
    SELECT
        l.line_id, CASE WHEN k.k = 98 THEN n.k_ess ELSE 99 END,
        CASE WHEN k.k = 98 THEN n.share ELSE 1.0 - n.share END
        * CASE WHEN l.is_accepted_by_name THEN $accept_error_rate ELSE greatest(0.0, 1.0 - coalesce(sum(c.p), 0)) END,
        k.k = 98
    FROM lines AS l
    JOIN none_ess AS n USING (line_id)
    LEFT JOIN candidates AS c ON c.supplier_key = l.supplier_key AND NOT l.is_accepted_by_name
    CROSS JOIN (SELECT unnest([98, 99]) AS k) AS k
    WHERE n.share > 0 OR k.k = 99
    GROUP BY l.line_id, l.is_accepted_by_name, n.share, n.k_ess, k.k
    UNION ALL
    SELECT line_id, 0, CASE WHEN is_accepted_by_name THEN 1.0 - $accept_error_rate ELSE 1.0 END, is_ess_at_date
    FROM lines
    WHERE is_certain
    UNION ALL
    SELECT l.line_id, 97, 0.0, coalesce(us.is_ess_at_date, FALSE)
    FROM lines AS l
    JOIN set_aside AS sa USING (supplier_key)
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = sa.id_siren
    UNION ALL
    -- 95: the ceased unit paid all the same (probability 0: the point counts it not ESS)
    SELECT l.line_id, 95, 0.0, coalesce(us.is_ess_if_active, FALSE)
    FROM lines AS l
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = l.siren
    WHERE l.is_ceased_payee
),
outcome_lists AS (
    -- the outcome of probability 0 (the identifier's unit set aside) only widens the extreme bounds;
    -- the signature (every outcome) says whether two lines move together
    SELECT
        line_id, list(struct_pack(k := k, p := p, is_ess := is_ess) ORDER BY k) FILTER (WHERE p > 0) AS ess_outcomes,
        sum(p * is_ess::INT) FILTER (WHERE p > 0) / nullif(sum(p) FILTER (WHERE p > 0), 0) AS p_ess,
        bool_or(is_ess) FILTER (WHERE k <> 96) AS possible_ess,
        list(struct_pack(k := k, p := p, is_ess := is_ess) ORDER BY k, p, is_ess) AS signature
    FROM outcomes
    GROUP BY line_id
),
weighted AS (
    SELECT
        l.*,
        -- one outcome, the accepted unit: the extreme bounds take the decision as sure (but for a
        -- unit ceased at the date, outcome 95)
        l.is_certain AND NOT l.is_accepted_by_name AND NOT l.is_ceased_payee AS is_fixed,
        coalesce(l.quarter, 'sans date') AS period,
        coalesce(ol.possible_ess, FALSE)::INT AS possible_ess,
        coalesce(ol.p_ess, 0.0) AS point_weight,
        round(l.amount_eur * coalesce(ol.p_ess, 0.0), 2)::DECIMAL(18, 2) AS point_eur,
        ol.ess_outcomes,
        ol.signature
    FROM lines AS l
    LEFT JOIN outcome_lists AS ol USING (line_id)
),
paired AS (
    -- a credit note whose outcomes are those of the payment it reverses (same candidates, same status
    -- date) is drawn with that payment's key; in any period that holds both (their quarter, their
    -- year, ALL), its extreme bounds are the pair's
    SELECT
        c.line_id, h.line_id AS head_line_id, h.supplier_key AS head_key,
        c.period = h.period AS same_quarter, c.year_period = h.year_period AS same_year
    FROM weighted AS c
    JOIN cls_line_reversal AS rv ON rv.line_id = c.line_id AND rv.status_line_id <> c.line_id
    JOIN weighted AS h ON h.line_id = rv.status_line_id
    WHERE c.amount_eur < 0 AND h.amount_eur > 0 AND c.signature = h.signature AND c.is_fixed = h.is_fixed
),
grouped AS (
    SELECT
        w.*,
        coalesce(pr.head_key, w.supplier_key) AS draw_key,
        pr.head_line_id,
        coalesce(pr.same_quarter, FALSE) AS same_quarter,
        coalesce(pr.same_year, FALSE) AS same_year
    FROM weighted AS w
    LEFT JOIN paired AS pr USING (line_id)
),
grains AS (
    -- each line once per grain (quarter, year, ALL), netted with its payment where the grain's
    -- period holds both: a pair split across two quarters of a year nets in that year and in ALL
    SELECT
        g.line_id, gr.grain, g.amount_eur, g.point_eur,
        CASE
            WHEN
                g.head_line_id IS NOT NULL
                AND (
                    gr.grain = 'all' OR (gr.grain = 'year' AND g.same_year) OR (gr.grain = 'quarter' AND g.same_quarter)
                )
                THEN g.head_line_id
            ELSE g.line_id
        END AS group_line_id
    FROM grouped AS g
    CROSS JOIN (SELECT unnest(['quarter', 'year', 'all']) AS grain) AS gr
),
group_bounds AS (
    -- the worst and best ESS value of a payment with the credit notes it carries, as one net amount
    -- (all its lines share one outcome): a fixed line counts for sure, but for the unit of an
    -- identifier set aside (possible_ess); otherwise « not ESS » and any possible ESS outcome
    -- (not a missed unit, k 96: the bounds only contain its point)
    SELECT
        g.grain, g.group_line_id,
        sum(g.point_eur) FILTER (WHERE g.line_id <> g.group_line_id) AS credit_point_eur,
        CASE WHEN h.is_fixed AND sum(g.amount_eur) >= 0 THEN sum(g.amount_eur) * h.is_ess_at_date::INT
            ELSE least(least(sum(g.amount_eur), 0) * h.possible_ess, sum(g.point_eur))
        END AS low_eur,
        CASE WHEN h.is_fixed AND sum(g.amount_eur) < 0 THEN sum(g.amount_eur) * h.is_ess_at_date::INT
            ELSE greatest(greatest(sum(g.amount_eur), 0) * h.possible_ess, sum(g.point_eur))
        END AS high_eur
    FROM grains AS g
    JOIN weighted AS h ON h.line_id = g.group_line_id
    GROUP BY g.grain, g.group_line_id, h.is_fixed, h.is_ess_at_date, h.possible_ess
),
line_bounds AS (
    -- a credit note netted with its payment keeps its point; the payment's line carries the pair's bounds
    SELECT
        g.line_id, g.grain,
        (
            CASE
                WHEN g.line_id <> g.group_line_id THEN g.point_eur
                ELSE gb.low_eur - coalesce(gb.credit_point_eur, 0)
            END
        )::DECIMAL(18, 2) AS low_eur,
        (
            CASE
                WHEN g.line_id <> g.group_line_id THEN g.point_eur
                ELSE gb.high_eur - coalesce(gb.credit_point_eur, 0)
            END
        )::DECIMAL(18, 2) AS high_eur
    FROM grains AS g
    LEFT JOIN group_bounds AS gb ON gb.grain = g.grain AND gb.group_line_id = g.line_id
),
pivoted AS (
    SELECT
        line_id,
        any_value(low_eur) FILTER (WHERE grain = 'quarter') AS ess_low_eur,
        any_value(high_eur) FILTER (WHERE grain = 'quarter') AS ess_high_eur,
        any_value(low_eur) FILTER (WHERE grain = 'year') AS ess_year_low_eur,
        any_value(high_eur) FILTER (WHERE grain = 'year') AS ess_year_high_eur,
        any_value(low_eur) FILTER (WHERE grain = 'all') AS ess_all_low_eur,
        any_value(high_eur) FILTER (WHERE grain = 'all') AS ess_all_high_eur
    FROM line_bounds
    GROUP BY line_id
)
SELECT
    w.* EXCLUDE (is_fixed, period, year_period, point_eur, signature, head_line_id, same_quarter, same_year),
    -- extreme bounds of the line in its quarter (pairs netted within the quarter)
    pv.ess_low_eur,
    -- the weight is a probability (DOUBLE); the published estimate is rounded to the cent, so
    -- periods add up
    w.point_eur AS ess_point_eur,
    pv.ess_high_eur,
    -- the same in its year (objective8_by_year) and in ALL: a pair split across quarters nets there
    pv.ess_year_low_eur,
    pv.ess_year_high_eur,
    pv.ess_all_low_eur,
    pv.ess_all_high_eur,
    coalesce(w.category_cpv[1:2], ct.cpv_division, nc.cpv_division) AS cpv_division,
    CASE
        WHEN w.category_cpv IS NOT NULL THEN 'ligne'
        WHEN ct.cpv_division IS NOT NULL THEN 'marche'
        WHEN nc.cpv_division IS NOT NULL THEN 'naf_fournisseur'
    END AS cpv_division_source
FROM grouped AS w
JOIN pivoted AS pv USING (line_id)
LEFT JOIN stg_supplier_contract_cpv AS ct ON ct.siren = w.siren
LEFT JOIN stg_unite_legale AS u ON u.siren = w.siren
LEFT JOIN ref_naf_cpv_primary AS nc ON nc.naf_division = left(u.naf, 2);
