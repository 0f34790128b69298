-- One row per `ok` line with its share in the ESS estimate's low, point and high figures.
-- low: certain evidence only; point: weighted by match scores; high: everything that could be ESS.
-- Credit notes (negative amounts) on uncertain lines go to the low side, so low <= point <= high.
CREATE OR REPLACE TABLE mart_purchase_line_estimate AS
WITH lines AS (
    SELECT
        p.line_id, p.quarter, p.fiscal_year, p.amount_eur,
        coalesce(lm.buying_entity, p.buying_entity) AS buying_entity, coalesce(lm.category, p.category) AS category,
        -- names of non-diffusible units masked
        p.category_cpv, coalesce(lm.supplier_name, p.supplier_name) AS supplier_name,
        r.siren, r.match_status, r.match_score, r.supplier_key, r.has_ess_marker,
        coalesce(c.is_ess_at_date, FALSE) AS is_ess_at_date,
        coalesce(c.is_esus_at_date, FALSE) AS is_esus_at_date,
        coalesce(c.is_inclusive_at_date, FALSE) AS is_inclusive_at_date,
        c.ess_family
    FROM stg_purchase_lines AS p
    JOIN res_purchase_line_supplier AS r USING (line_id)
    LEFT JOIN cls_purchase_line_status AS c USING (line_id)
    LEFT JOIN res_line_mask AS lm USING (line_id)
    WHERE p.status = 'ok'
),
review_weights AS (
    -- a line in review could be ESS when any candidate is; its point weight is the
    -- score-weighted share of ESS candidates
    SELECT
        l.line_id,
        sum(mc.score * coalesce(s.is_ess_undated OR s.esus_last_start_date IS NOT NULL, FALSE)::INT)
            / nullif(sum(mc.score), 0) AS p_ess
    FROM lines AS l
    JOIN res_match_candidates AS mc ON mc.supplier_key = l.supplier_key
    LEFT JOIN cls_supplier_status AS s ON s.siren = mc.siren
    WHERE l.match_status = 'review'
    GROUP BY l.line_id
),
marker_rate AS (
    -- among matched lines whose name carries an ESS word, the share that is ESS: the point
    -- estimate applies it to unmatched lines with such a word
    SELECT coalesce(sum(CASE WHEN is_ess_at_date THEN 1 ELSE 0 END) / nullif(count(*), 0), 0.5) AS rate
    FROM lines
    WHERE match_status = 'matched' AND has_ess_marker
),
weighted AS (
    SELECT
        l.*,
        CASE
            WHEN l.match_status = 'matched' THEN l.is_ess_at_date::INT
            WHEN l.match_status = 'review' THEN (coalesce(rw.p_ess, 0) > 0)::INT
            ELSE l.has_ess_marker::INT
        END AS possible_ess,
        CASE
            WHEN l.match_status = 'matched' THEN l.is_ess_at_date::DOUBLE
            WHEN l.match_status = 'review' THEN coalesce(rw.p_ess, 0)
            WHEN l.match_status = 'unmatched' AND l.has_ess_marker THEN (SELECT rate FROM marker_rate)
            ELSE 0.0
        END AS point_weight
    FROM lines AS l
    LEFT JOIN review_weights AS rw USING (line_id)
)
SELECT
    w.*,
    (CASE WHEN w.match_status = 'matched' THEN w.amount_eur * w.possible_ess
          ELSE least(w.amount_eur, 0) * w.possible_ess END)::DECIMAL(18, 2) AS ess_low_eur,
    -- the weight is a probability (DOUBLE); the published estimate is rounded to the cent
    round(w.amount_eur * w.point_weight, 2)::DECIMAL(18, 2) AS ess_point_eur,
    (CASE WHEN w.match_status = 'matched' THEN w.amount_eur * w.possible_ess
          ELSE greatest(w.amount_eur, 0) * w.possible_ess END)::DECIMAL(18, 2) AS ess_high_eur,
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
