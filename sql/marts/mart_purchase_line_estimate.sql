-- One row per `ok` line with its share in the ESS estimate: point, and extreme low and high bounds.
-- Point: amount × probability that the supplier is ESS at the date, read from the possible
-- outcomes of the line's supplier (`ess_outcomes`, drawn by the 90 % interval of
-- mart_objective8_summary): its candidates' probabilities, or, for a key accepted by its name
-- alone, the accepted unit with probability 1 − $accept_error_rate and else an unknown unit. One
-- list for the point, the interval and the extreme bounds (« bornes extrêmes »: every outcome but a
-- missed unit taken as possible; low = the worst, high = the best). A credit note moves with the
-- payment it reverses (cls_line_reversal) when both share their outcomes: one draw key. The
-- extreme bounds of a period are taken per supplier (all its lines one outcome): a draw key with a
-- sure unit; for a key that is only a name (namesakes), each line, with the credits that name it;
-- the least and greatest of its lines' sum over its outcomes, each line at its own status date;
-- ess_low/high_eur for the quarter, ess_year_low/high_eur for the year, ess_all_low/high_eur for ALL
-- (a key's credit and payments of two quarters net in their year and in ALL). extreme low <= point
-- <= extreme high, line by line, at each grain.
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
    -- not ESS. For the extreme bounds, a unit's status on every day and on some day of the exercice
    -- of an undated line (is_ess_every_day, is_ess_some_day; a dated line: its date's status).
    SELECT
        l.line_id, c.rank AS k, c.p, coalesce(us.is_ess_at_date, FALSE) AS is_ess, c.siren,
        coalesce(us.is_ess_on_every_day, FALSE) AS is_ess_every_day,
        coalesce(us.is_ess_on_some_day, FALSE) AS is_ess_some_day
    FROM lines AS l
    JOIN candidates AS c USING (supplier_key)
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = c.siren
    WHERE NOT l.is_certain
    UNION ALL
    SELECT
        l.line_id, CASE WHEN k.k = 98 THEN n.k_ess ELSE 99 END,
        CASE WHEN k.k = 98 THEN n.share ELSE 1.0 - n.share END
        * CASE WHEN l.is_accepted_by_name THEN $accept_error_rate ELSE greatest(0.0, 1.0 - coalesce(sum(c.p), 0)) END,
        k.k = 98,
        NULL,
        k.k = 98,
        k.k = 98
    FROM lines AS l
    JOIN none_ess AS n USING (line_id)
    LEFT JOIN candidates AS c ON c.supplier_key = l.supplier_key AND NOT l.is_accepted_by_name
    CROSS JOIN (SELECT unnest([98, 99]) AS k) AS k
    WHERE n.share > 0 OR k.k = 99
    GROUP BY l.line_id, l.is_accepted_by_name, n.share, n.k_ess, k.k
    UNION ALL
    SELECT
        l.line_id, 0, CASE WHEN l.is_accepted_by_name THEN 1.0 - $accept_error_rate ELSE 1.0 END, l.is_ess_at_date,
        l.siren, coalesce(us.is_ess_on_every_day, l.is_ess_at_date), coalesce(us.is_ess_on_some_day, l.is_ess_at_date)
    FROM lines AS l
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = l.siren
    WHERE l.is_certain
    UNION ALL
    SELECT
        l.line_id, 97, 0.0, coalesce(us.is_ess_at_date, FALSE), sa.id_siren,
        coalesce(us.is_ess_on_every_day, FALSE), coalesce(us.is_ess_on_some_day, FALSE)
    FROM lines AS l
    JOIN set_aside AS sa USING (supplier_key)
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = sa.id_siren
    UNION ALL
    -- 95: the ceased unit paid all the same (probability 0: the point counts it not ESS)
    SELECT
        l.line_id, 95, 0.0, coalesce(us.is_ess_if_active, FALSE), l.siren,
        coalesce(us.is_ess_if_active_on_every_day, FALSE), coalesce(us.is_ess_if_active_on_some_day, FALSE)
    FROM lines AS l
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = l.siren
    WHERE l.is_ceased_payee
),
outcome_lists AS (
    -- the outcome of probability 0 (the identifier's unit set aside) only widens the extreme bounds;
    -- the signature (every outcome) says whether two lines move together
    SELECT
        line_id, list(struct_pack(k := k, p := p, is_ess := is_ess) ORDER BY k) FILTER (WHERE p > 0) AS ess_outcomes,
        -- summed in one order (the outcomes of a line come from several branches, in any order):
        -- the same floats at every run, whatever the threads
        sum(p * is_ess::INT ORDER BY k, p, is_ess) FILTER (WHERE p > 0)
        / nullif(sum(p ORDER BY k, p, is_ess) FILTER (WHERE p > 0), 0) AS p_ess,
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
    SELECT c.line_id, h.supplier_key AS head_key
    FROM weighted AS c
    JOIN cls_line_reversal AS rv ON rv.line_id = c.line_id AND rv.status_line_id <> c.line_id
    JOIN weighted AS h ON h.line_id = rv.status_line_id
    WHERE c.amount_eur < 0 AND h.amount_eur > 0 AND c.signature = h.signature AND c.is_fixed = h.is_fixed
),
grouped AS (
    SELECT
        w.*,
        coalesce(pr.head_key, w.supplier_key) AS draw_key
    FROM weighted AS w
    LEFT JOIN paired AS pr USING (line_id)
),
line_values AS (
    -- each line's ESS value under each outcome of its draw key (a missed unit, 96, is not counted:
    -- the bounds only contain its point); outcome 95, its ceased unit paid all the same, is that
    -- unit's outcome read as if it were active (k + 1000), one fact for all the key's lines; an
    -- undated line may fall on any day of its exercice, so its value under one outcome is a range
    SELECT
        v.line_id, v.k,
        min(least(w.amount_eur * v.is_ess_every_day::INT, w.amount_eur * v.is_ess_some_day::INT)) AS low_eur,
        max(greatest(w.amount_eur * v.is_ess_every_day::INT, w.amount_eur * v.is_ess_some_day::INT)) AS high_eur
    FROM (
        SELECT o.line_id, o.k, o.is_ess_every_day, o.is_ess_some_day
        FROM outcomes AS o
        WHERE o.k NOT IN (95, 96)
        UNION ALL
        SELECT o.line_id, coalesce(1000 + u.k, 95), o.is_ess_every_day, o.is_ess_some_day
        FROM outcomes AS o
        LEFT JOIN outcomes AS u ON u.line_id = o.line_id AND u.siren = o.siren AND u.k NOT IN (95, 96)
        WHERE o.k = 95
    ) AS v
    JOIN weighted AS w ON w.line_id = v.line_id
    GROUP BY v.line_id, v.k
),
own AS (
    -- a line alone: its worst and best outcome, holding its point
    SELECT
        g.line_id, min(v.low_eur) AS any_low_eur, max(v.high_eur) AS any_high_eur,
        g.point_eur - least(coalesce(min(v.low_eur), 0), g.point_eur) AS room_low_eur,
        greatest(coalesce(max(v.high_eur), 0), g.point_eur) - g.point_eur AS room_high_eur
    FROM grouped AS g
    LEFT JOIN line_values AS v USING (line_id)
    GROUP BY g.line_id, g.point_eur
),
grains AS (
    -- each line once per grain (quarter, year, ALL), in the group of its supplier in that grain's
    -- period, whose worst case is taken once per period (a credit note and a later payment of the
    -- same supplier net, as a pair split across quarters). A key with a sure unit (an identifier, a
    -- person, its name accepted) is one supplier: its draw key. A key without one (review,
    -- unmatched, decided without review) is only a name, which namesakes may share: each of its
    -- lines may be any of them, so each line is its own group, but for a credit that names the
    -- payment it reverses (cls_line_reversal.is_named_reversal), surely that payment's supplier
    SELECT
        g.line_id, gr.grain, g.point_eur, o.room_low_eur, o.room_high_eur, o.any_low_eur, o.any_high_eur,
        CASE gr.grain WHEN 'quarter' THEN g.period WHEN 'year' THEN g.year_period ELSE 'ALL' END AS grain_period,
        CASE
            WHEN g.is_certain THEN coalesce(g.draw_key, 'ligne ' || g.line_id)
            WHEN rv.is_named_reversal THEN 'ligne ' || rv.status_line_id
            ELSE 'ligne ' || g.line_id
        END AS group_key
    FROM grouped AS g
    JOIN own AS o USING (line_id)
    LEFT JOIN cls_line_reversal AS rv USING (line_id)
    CROSS JOIN (SELECT unnest(['quarter', 'year', 'all']) AS grain) AS gr
),
outcome_values AS (
    -- the group's ESS value under each outcome one of its lines may take; a line not ceased under
    -- « its unit as if active » keeps that unit's value, and a line without the outcome (none known
    -- that ties it) may take any of its own
    SELECT
        gk.grain, gk.grain_period, gk.group_key, gk.k,
        sum(coalesce(v.low_eur, va.low_eur, gn.any_low_eur, 0)) AS low_eur,
        sum(coalesce(v.high_eur, va.high_eur, gn.any_high_eur, 0)) AS high_eur
    FROM (
        SELECT DISTINCT g1.grain, g1.grain_period, g1.group_key, v1.k
        FROM grains AS g1
        JOIN line_values AS v1 USING (line_id)
    ) AS gk
    JOIN grains AS gn USING (grain, grain_period, group_key)
    LEFT JOIN line_values AS v ON v.line_id = gn.line_id AND v.k = gk.k
    LEFT JOIN line_values AS va ON va.line_id = gn.line_id AND gk.k >= 1000 AND va.k = gk.k - 1000
    GROUP BY gk.grain, gk.grain_period, gk.group_key, gk.k
),
group_bounds AS (
    -- the worst and best ESS value of a supplier in a period: the least and greatest over its
    -- outcomes (one outcome for all its lines), holding the group's point
    SELECT
        gn.grain, gn.grain_period, gn.group_key,
        least(coalesce(min(ov.low_eur), 0), gn.point_eur) AS low_eur,
        greatest(coalesce(max(ov.high_eur), 0), gn.point_eur) AS high_eur,
        gn.point_eur
    FROM (
        SELECT grain, grain_period, group_key, sum(point_eur) AS point_eur
        FROM grains
        GROUP BY grain, grain_period, group_key
    ) AS gn
    LEFT JOIN outcome_values AS ov USING (grain, grain_period, group_key)
    GROUP BY gn.grain, gn.grain_period, gn.group_key, gn.point_eur
),
line_bounds AS (
    -- the group's room below (above) its point shared out line by line, the widest lines first, each
    -- line at most its own room: every line keeps low <= point <= high and the group's lines add up
    -- to its bounds, to the cent
    SELECT
        gn.line_id, gn.grain,
        (
            gn.point_eur - least(gn.room_low_eur, greatest(0, gb.point_eur - gb.low_eur - (
                sum(gn.room_low_eur) OVER (
                    PARTITION BY gn.grain, gn.grain_period, gn.group_key
                    ORDER BY gn.room_low_eur DESC, gn.line_id ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                ) - gn.room_low_eur
            )))
        )::DECIMAL(18, 2) AS low_eur,
        (
            gn.point_eur + least(gn.room_high_eur, greatest(0, gb.high_eur - gb.point_eur - (
                sum(gn.room_high_eur) OVER (
                    PARTITION BY gn.grain, gn.grain_period, gn.group_key
                    ORDER BY gn.room_high_eur DESC, gn.line_id ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                ) - gn.room_high_eur
            )))
        )::DECIMAL(18, 2) AS high_eur
    FROM grains AS gn
    JOIN group_bounds AS gb USING (grain, grain_period, group_key)
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
    w.* EXCLUDE (is_fixed, period, year_period, point_eur, signature),
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
