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
        p.cited_mandate,
        p.invoice_ref,
        p.fiscal_year,
        p.fiscal_year_stated,
        p.source_file,
        p.source_sheet,
        -- the words of a budget cell (« Budget principal », « Budget annexe eau », « CCAS »): two lines of
        -- one file in two budgets, each numbering its mandates from 1; NULL for a service or direction,
        -- which shares its budget's numbering
        CASE WHEN list_has_any(b.words, ['budget', 'budgets', 'bud', 'ccas', 'cias']) THEN b.words END AS budget_words,
        -- the n° as a credit's text cites it: digits without leading zeros (« 000123 », « 123.0 »)
        CASE WHEN regexp_matches(trim(p.mandate_number), '^[0-9]+(\.0+)?$')
            THEN coalesce(nullif(ltrim(regexp_replace(trim(p.mandate_number), '\.0+$', ''), '0'), ''), '0')
        END AS mandate_key,
        r.supplier_key,
        CASE WHEN r.match_status = 'matched' THEN r.siren END AS matched_siren,
        coalesce(p.purchase_date, make_date(p.fiscal_year, 7, 1), $reference_date) AS own_date
    FROM stg_purchase_lines AS p
    JOIN res_purchase_line_supplier AS r USING (line_id)
    CROSS JOIN LATERAL (
        SELECT list_distinct(string_split(trim(regexp_replace(
            lower(strip_accents(p.buying_entity)), '[^a-z0-9]+', ' ', 'g'
        )), ' ')) AS words
    ) AS b
    WHERE p.status = 'ok'
),
paid AS (
    -- positive lines, one per supplier (matched unit, else supplier key), date, mandate number,
    -- exercice, file and sheet (n°s restart per exercice and per budget)
    SELECT
        coalesce('u' || matched_siren, 'k' || supplier_key) AS payee,
        own_date,
        mandate_number,
        fiscal_year,
        fiscal_year_stated,
        source_file,
        source_sheet,
        budget_words,
        max(line_id) AS line_id
    FROM dated
    WHERE amount_eur > 0
    GROUP BY ALL
),
paid_lines AS (
    SELECT
        line_id, own_date, mandate_key, invoice_ref, fiscal_year, source_file, source_sheet, budget_words,
        coalesce('u' || matched_siren, 'k' || supplier_key) AS payee
    FROM dated
    WHERE amount_eur > 0
),
credits AS (
    SELECT
        line_id, own_date, mandate_number, cited_mandate, invoice_ref, fiscal_year, fiscal_year_stated, source_file,
        source_sheet, budget_words, coalesce('u' || matched_siren, 'k' || supplier_key) AS payee
    FROM dated
    WHERE amount_eur < 0
),
reversed AS (
    -- a credit note reverses spend already paid: it takes the status of that payment, the positive
    -- line of the same supplier (same matched unit, else same supplier key) with the mandate n° its
    -- text cites (« Annulation du mandat 1 »), else with the invoice it names (« N° facture » column
    -- or « Avoir sur facture F118 »; the same exercice, then the same file and sheet first), else
    -- with its own mandate number (the latest on or before it, else the first after it: an export
    -- may date the cancellation before the payment it names), else the latest one dated on or
    -- before it; without one, its own date. A mandate n° (cited or its own) names a payment only in
    -- the same file and sheet and the same exercice (for its own n°, as the file states it): n°s
    -- restart each exercice and per budget, and a buyer may export its budgets apart, so the same
    -- n° in another file is another mandate. Every payment it may take is of its own budget when both
    -- lines' entity cells name one (`budget_words`): a budget's credit reverses that budget's spend
    SELECT
        line_id,
        status_line_id,
        status_date,
        -- the credit names that payment by the buyer's own mandate numbering (cited n°, own n°),
        -- rather than being given the latest one by date: only then is it surely the same supplier
        -- as that payment when its name may be several namesakes (the extreme bounds of
        -- mart_purchase_line_estimate). An invoice n° is the supplier's own numbering, which
        -- namesakes may share: it does not tell them apart
        kind IN (-2, 1) AS is_named_reversal
    FROM (
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date,
            CASE
                WHEN
                    p.mandate_key = c.cited_mandate AND coalesce(p.fiscal_year = c.fiscal_year, TRUE)
                    AND p.source_file = c.source_file
                    AND coalesce(p.source_sheet, '') = coalesce(c.source_sheet, '')
                    THEN -2
                ELSE -1
            END AS kind,
            coalesce(p.fiscal_year = c.fiscal_year, FALSE) AS same_year,
            p.source_file = c.source_file
            AND coalesce(p.source_sheet, '') = coalesce(c.source_sheet, '') AS same_source,
            p.own_date > c.own_date AS is_after, abs(datediff('day', c.own_date, p.own_date)) AS distance
        FROM credits AS c
        JOIN paid_lines AS p
            ON
                p.payee = c.payee
                AND (
                    (
                        p.mandate_key = c.cited_mandate AND coalesce(p.fiscal_year = c.fiscal_year, TRUE)
                        AND p.source_file = c.source_file
                        AND coalesce(p.source_sheet, '') = coalesce(c.source_sheet, '')
                    )
                    OR p.invoice_ref = c.invoice_ref
                )
                -- two budgets of one file (a « Budget » cell each, neither's words all in the other's)
                -- number their mandates apart and pay their own invoices; a blank cell may be either
                AND coalesce(
                    list_has_all(p.budget_words, c.budget_words) OR list_has_all(c.budget_words, p.budget_words), TRUE
                )
        UNION ALL
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date, 1 AS kind, TRUE AS same_year,
            TRUE AS same_source, p.own_date > c.own_date AS is_after,
            abs(datediff('day', c.own_date, p.own_date)) AS distance
        FROM credits AS c
        JOIN paid AS p
            ON
                p.payee = c.payee AND p.mandate_number = c.mandate_number
                -- two exercices the file states (« Exercice » column); a year read from the dates
                -- may put a December mandate and its January reduction in two years
                AND coalesce(p.fiscal_year = c.fiscal_year OR NOT (p.fiscal_year_stated AND c.fiscal_year_stated), TRUE)
                AND p.source_file = c.source_file
                AND coalesce(p.source_sheet, '') = coalesce(c.source_sheet, '')
                AND coalesce(
                    list_has_all(p.budget_words, c.budget_words) OR list_has_all(c.budget_words, p.budget_words), TRUE
                )
        UNION ALL
        -- the latest payment on or before it (the latest line of that day), of its budget when both say one
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date, 2 AS kind, TRUE AS same_year,
            TRUE AS same_source, FALSE AS is_after, datediff('day', p.own_date, c.own_date) AS distance
        FROM credits AS c
        JOIN paid_lines AS p
            ON
                p.payee = c.payee AND p.own_date <= c.own_date
                AND coalesce(
                    list_has_all(p.budget_words, c.budget_words) OR list_has_all(c.budget_words, p.budget_words), TRUE
                )
    ) AS a
    QUALIFY row_number() OVER (
        PARTITION BY line_id
        ORDER BY kind ASC, same_year DESC, same_source DESC, is_after ASC, distance ASC, status_line_id DESC
    ) = 1
)
SELECT
    d.line_id,
    coalesce(rv.status_line_id, d.line_id) AS status_line_id,
    coalesce(rv.status_date, d.own_date) AS status_date,
    coalesce(rv.is_named_reversal, FALSE) AS is_named_reversal
FROM dated AS d
LEFT JOIN reversed AS rv USING (line_id);
