-- One row per `ok` line with its share in the ESS estimate: point, and extreme low and high bounds.
-- Point: amount × probability that the supplier is ESS at the date, read from the match
-- probabilities of the line's supplier key (`ess_outcomes`, also used by the 90 % interval of
-- mart_objective8_summary). Extreme bounds (« bornes extrêmes »): low = certain evidence only,
-- high = everything that could be ESS. Credit notes on uncertain lines go to the low side, so
-- extreme low <= point <= extreme high.
CREATE OR REPLACE TABLE mart_purchase_line_estimate AS
WITH lines AS (
    SELECT
        p.line_id, p.quarter, p.fiscal_year, p.amount_eur,
        coalesce(lm.buying_entity, p.buying_entity) AS buying_entity, coalesce(lm.category, p.category) AS category,
        -- names of non-diffusible units masked
        p.category_cpv, coalesce(lm.supplier_name, p.supplier_name) AS supplier_name,
        r.siren, r.match_status, r.match_score, r.supplier_key, r.has_ess_marker, r.match_method,
        coalesce(m.has_uninformative_name, FALSE) AS has_uninformative_name,
        -- certain: matched, and not decided without review (whose candidates keep their probabilities)
        r.match_status = 'matched' AND NOT coalesce(m.is_decided_without_review, FALSE) AS is_certain,
        coalesce(c.is_ess_at_date, FALSE) AS is_ess_at_date,
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
    -- the chance that « none of the candidates » is ESS, per line: the marker rate for a name with an
    -- ESS word; otherwise the share of « none » that is a unit the matcher missed (shipped model,
    -- measured on the benchmark's fit split: for a name that names no one, « SARL », a real supplier
    -- the name cannot find, whatever the decision; else by decision class) times the plain rate
    SELECT
        l.line_id,
        CASE
            WHEN l.has_ess_marker THEN mr.rate
            WHEN l.has_uninformative_name THEN $missed_share_uninformative * pr.rate
            WHEN l.match_status = 'unmatched' THEN $missed_share_unmatched * pr.rate
            ELSE $missed_share_review * pr.rate
        END AS share,
        -- 98: ESS by the name's ESS word; 96: a missed unit, which the extreme bounds do not count
        CASE WHEN l.has_ess_marker THEN 98 ELSE 96 END AS k_ess
    FROM lines AS l
    CROSS JOIN marker_rate AS mr
    CROSS JOIN plain_rate AS pr
    WHERE NOT l.is_certain
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
    -- matched line counts as certain (it was accepted at the target precision): one outcome, its
    -- unit's status at the date; a line decided without review is not certain: its candidates.
    -- Rank 0: the matched unit; 96: none, a missed unit, ESS; 98: none, ESS by its name's ESS word;
    -- 99: none, not ESS.
    SELECT l.line_id, c.rank AS k, c.p, coalesce(us.is_ess_at_date, FALSE) AS is_ess
    FROM lines AS l
    JOIN candidates AS c USING (supplier_key)
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = c.siren
    WHERE NOT l.is_certain
    UNION ALL
    SELECT
        l.line_id, CASE WHEN k.k = 98 THEN n.k_ess ELSE 99 END,
        CASE WHEN k.k = 98 THEN n.share ELSE 1.0 - n.share END * greatest(0.0, 1.0 - coalesce(sum(c.p), 0)),
        k.k = 98
    FROM lines AS l
    JOIN none_ess AS n USING (line_id)
    LEFT JOIN candidates AS c USING (supplier_key)
    CROSS JOIN (SELECT unnest([98, 99]) AS k) AS k
    WHERE n.share > 0 OR k.k = 99
    GROUP BY l.line_id, n.share, n.k_ess, k.k
    UNION ALL
    SELECT line_id, 0, 1.0, is_ess_at_date FROM lines WHERE is_certain
    UNION ALL
    SELECT l.line_id, 97, 0.0, coalesce(us.is_ess_at_date, FALSE)
    FROM lines AS l
    JOIN set_aside AS sa USING (supplier_key)
    LEFT JOIN cls_line_unit_status AS us ON us.line_id = l.line_id AND us.siren = sa.id_siren
),
outcome_lists AS (
    -- the outcome of probability 0 (the identifier's unit set aside) only widens the extreme bounds
    SELECT
        line_id, list(struct_pack(k := k, p := p, is_ess := is_ess) ORDER BY k) FILTER (WHERE p > 0) AS ess_outcomes,
        sum(p * is_ess::INT) FILTER (WHERE p > 0) / nullif(sum(p) FILTER (WHERE p > 0), 0) AS p_ess,
        bool_or(is_ess) FILTER (WHERE k <> 96) AS possible_ess
    FROM outcomes
    GROUP BY line_id
),
weighted AS (
    SELECT
        l.*,
        coalesce(ol.possible_ess, FALSE)::INT AS possible_ess,
        coalesce(ol.p_ess, 0.0) AS point_weight,
        ol.ess_outcomes
    FROM lines AS l
    LEFT JOIN outcome_lists AS ol USING (line_id)
)
SELECT
    w.*,
    -- a certain line counts for sure, except for the unit of an identifier set aside (possible_ess)
    -- the chance of a missed unit (k 96) is no possible outcome of the extreme bounds: they only
    -- contain the line's point
    (CASE WHEN w.is_certain AND w.amount_eur >= 0 THEN w.amount_eur * w.is_ess_at_date::INT
          ELSE least(least(w.amount_eur, 0) * w.possible_ess, round(w.amount_eur * w.point_weight, 2))
     END)::DECIMAL(18, 2) AS ess_low_eur,
    -- the weight is a probability (DOUBLE); the published estimate is rounded to the cent, so
    -- periods add up
    round(w.amount_eur * w.point_weight, 2)::DECIMAL(18, 2) AS ess_point_eur,
    (CASE WHEN w.is_certain AND w.amount_eur < 0 THEN w.amount_eur * w.is_ess_at_date::INT
          ELSE greatest(greatest(w.amount_eur, 0) * w.possible_ess, round(w.amount_eur * w.point_weight, 2))
     END)::DECIMAL(18, 2) AS ess_high_eur,
    coalesce(w.category_cpv[1:2], ct.cpv_division, nc.cpv_division) AS cpv_division,
    CASE
        WHEN w.category_cpv IS NOT NULL THEN 'ligne'
        WHEN ct.cpv_division IS NOT NULL THEN 'marche'
        WHEN nc.cpv_division IS NOT NULL THEN 'naf_fournisseur'
    END AS cpv_division_source
FROM weighted AS w
LEFT JOIN stg_supplier_contract_cpv AS ct ON ct.siren = w.siren
LEFT JOIN stg_unite_legale AS u ON u.siren = w.siren
LEFT JOIN ref_naf_cpv_primary AS nc ON nc.naf_division = left(u.naf, 2);
