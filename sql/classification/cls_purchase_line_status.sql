-- Status of each resolved line's supplier at the line's own date: an ESUS agreement counts
-- only inside its window, and a unit ceased before the date is not an active ESS supplier.
CREATE OR REPLACE TABLE cls_purchase_line_status AS
WITH lines AS (
    SELECT
        r.line_id,
        r.siren,
        coalesce(p.purchase_date, make_date(p.fiscal_year, 7, 1), $reference_date) AS status_date
    FROM res_purchase_line_supplier AS r
    JOIN stg_purchase_lines AS p USING (line_id)
    WHERE r.siren IS NOT NULL
),
esus_at_date AS (
    SELECT DISTINCT l.line_id
    FROM lines AS l
    JOIN src_esus AS e ON e.siren = l.siren AND l.status_date BETWEEN e.date_agrement AND e.date_fin_agrement
)
SELECT
    l.line_id,
    l.siren,
    l.status_date,
    s.siren IS NOT NULL AS is_known_unit,
    s.ceased_on IS NULL OR s.ceased_on > l.status_date AS is_active_at_date,
    ed.line_id IS NOT NULL AS is_esus_at_date,
    coalesce(
        (s.ceased_on IS NULL OR s.ceased_on > l.status_date)
        AND coalesce(s.manual_is_ess, s.is_ess_undated OR ed.line_id IS NOT NULL),
        false
    ) AS is_ess_at_date,
    coalesce(s.is_inclusive, false) AND (s.ceased_on IS NULL OR s.ceased_on > l.status_date) AS is_inclusive_at_date,
    CASE WHEN coalesce(s.manual_is_ess, s.is_ess_undated OR ed.line_id IS NOT NULL)
        THEN coalesce(s.legal_form_family, 'societe_commerciale_ess') END AS ess_family
FROM lines AS l
LEFT JOIN cls_supplier_status AS s ON s.siren = l.siren
LEFT JOIN esus_at_date AS ed ON ed.line_id = l.line_id;
