-- The line whose date judges each resolved `ok` line's supplier status: the line itself, or, for a
-- credit note, the payment it reverses. One computation for the status at the date
-- (cls_line_unit_status) and for the credit notes that move with their payment in the ESS bounds
-- (mart_purchase_line_estimate), so both pair the same lines.
CREATE OR REPLACE TABLE cls_line_reversal AS
WITH dated AS (
    -- an undated line's status is that of the 1st of July of its exercice, else of the reference date
    SELECT
        p.line_id,
        p.amount_eur,
        p.mandate_number,
        r.supplier_key,
        CASE WHEN r.match_status = 'matched' THEN r.siren END AS matched_siren,
        coalesce(p.purchase_date, make_date(p.fiscal_year, 7, 1), $reference_date) AS own_date
    FROM stg_purchase_lines AS p
    JOIN res_purchase_line_supplier AS r USING (line_id)
    WHERE p.status = 'ok'
),
paid AS (
    -- positive lines, one per supplier (matched unit, else supplier key), date and mandate number
    SELECT
        coalesce('u' || matched_siren, 'k' || supplier_key) AS payee,
        own_date,
        mandate_number,
        max(line_id) AS line_id
    FROM dated
    WHERE amount_eur > 0
    GROUP BY ALL
),
paid_by_date AS (
    SELECT payee, own_date, max(line_id) AS line_id FROM paid GROUP BY ALL
),
credits AS (
    SELECT line_id, own_date, mandate_number, coalesce('u' || matched_siren, 'k' || supplier_key) AS payee
    FROM dated
    WHERE amount_eur < 0
),
reversed AS (
    -- a credit note reverses spend already paid: it takes the status of that payment, the positive
    -- line of the same supplier (same matched unit, else same supplier key) with its mandate number
    -- (the latest on or before it, else the first after it: an export may date the cancellation
    -- before the payment it names), else the latest one dated on or before it; without one, its own date
    SELECT
        line_id,
        status_line_id,
        status_date
    FROM (
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date, 1 AS kind,
            p.own_date > c.own_date AS is_after, abs(datediff('day', c.own_date, p.own_date)) AS distance
        FROM credits AS c
        JOIN paid AS p ON p.payee = c.payee AND p.mandate_number = c.mandate_number
        UNION ALL
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date, 2 AS kind,
            FALSE AS is_after, 0 AS distance
        FROM credits AS c
        ASOF JOIN paid_by_date AS p ON p.payee = c.payee AND p.own_date <= c.own_date
    ) AS a
    QUALIFY row_number() OVER (
        PARTITION BY line_id ORDER BY kind ASC, is_after ASC, distance ASC, status_line_id DESC
    ) = 1
)
SELECT
    d.line_id,
    coalesce(rv.status_line_id, d.line_id) AS status_line_id,
    coalesce(rv.status_date, d.own_date) AS status_date
FROM dated AS d
LEFT JOIN reversed AS rv USING (line_id);
