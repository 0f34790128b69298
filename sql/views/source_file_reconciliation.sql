-- Contract view: each payment file (and sheet) reconciled with what the reader made of it: every
-- data row is accepted, quarantined or a duplicate, and the file's own grand total is compared
-- with the amounts read from its rows (ok and quarantined readable amounts, total rows excluded;
-- for a file that copies another one, its duplicate rows' amounts). Payments a later export
-- corrected (row kind 'superseded') and payments that may be in another file too (same payee, date
-- and amount, no mandate n° to prove it: still counted) are shown apart, and so are a file's
-- payments found in a larger file that holds 90 % of them (duplicates) and why an undated file is
-- « sans date ». Rows hidden in a workbook (quarantined) and parts of a file that repeat an
-- earlier part (duplicate of the file itself) are shown apart too, and so are rejected or cancelled
-- mandates (row kind 'not_paid', quarantined: never paid). A total written with SUBTOTAL
-- over a filter leaves hidden rows out: the declared total matches when it equals the rows'
-- amount with or without the hidden rows (and with or without the rejected or cancelled
-- mandates: a net total). Receipts (titres de recette: a sheet, a file or a n°
-- column named for them) are no purchases: quarantined, shown apart.
CREATE OR REPLACE VIEW source_file_reconciliation AS
WITH lines AS (
    SELECT
        source_file,
        coalesce(source_sheet, '') AS sheet_key,
        count(*) AS line_count,
        count(*) FILTER (WHERE status = 'ok') AS accepted_line_count,
        eur_sum(CASE WHEN status = 'ok' THEN amount_eur END) AS accepted_amount_eur,
        count(*) FILTER (WHERE status = 'quarantined') AS quarantined_line_count,
        eur_sum(CASE WHEN status = 'quarantined' AND row_kind IS DISTINCT FROM 'total' THEN amount_eur END)
            AS quarantined_amount_eur,
        count(*) FILTER (WHERE row_kind = 'total') AS total_row_count,
        count(*) FILTER (WHERE status = 'duplicate') AS duplicate_line_count,
        eur_sum(CASE WHEN status = 'duplicate' AND row_kind IS DISTINCT FROM 'total' THEN amount_eur END)
            AS duplicate_amount_eur,
        count(*) FILTER (WHERE row_kind = 'superseded') AS superseded_line_count,
        eur_sum(CASE WHEN row_kind = 'superseded' THEN amount_eur END) AS superseded_amount_eur,
        count(*) FILTER (WHERE is_duplicate) AS repeated_line_count,
        count(*) FILTER (WHERE row_kind = 'hidden') AS hidden_line_count,
        eur_sum(CASE WHEN row_kind = 'hidden' THEN amount_eur END) AS hidden_amount_eur,
        count(*) FILTER (WHERE row_kind = 'not_paid') AS not_paid_line_count,
        eur_sum(CASE WHEN row_kind = 'not_paid' THEN amount_eur END) AS not_paid_amount_eur,
        count(*) FILTER (WHERE row_kind = 'receipt') AS receipt_line_count,
        eur_sum(CASE WHEN row_kind = 'receipt' THEN amount_eur END) AS receipt_amount_eur,
        count(*) FILTER (WHERE row_kind = 'repeated') AS repeated_part_line_count,
        eur_sum(CASE WHEN row_kind IS DISTINCT FROM 'total' THEN amount_eur END) AS rows_amount_eur
    FROM src_purchase_lines
    GROUP BY ALL
),
joined AS (
    SELECT
        f.source_file,
        f.source_sheet,
        f.data_row_count,
        coalesce(l.line_count, 0) AS line_count,
        coalesce(l.accepted_line_count, 0) AS accepted_line_count,
        coalesce(l.accepted_amount_eur, 0) AS accepted_amount_eur,
        coalesce(l.quarantined_line_count, 0) AS quarantined_line_count,
        coalesce(l.quarantined_amount_eur, 0) AS quarantined_amount_eur,
        coalesce(l.total_row_count, 0) AS total_row_count,
        coalesce(l.duplicate_line_count, 0) AS duplicate_line_count,
        coalesce(l.duplicate_amount_eur, 0) AS duplicate_amount_eur,
        coalesce(l.superseded_line_count, 0) AS superseded_line_count,
        coalesce(l.superseded_amount_eur, 0) AS superseded_amount_eur,
        coalesce(l.repeated_line_count, 0) AS repeated_line_count,
        coalesce(l.hidden_line_count, 0) AS hidden_line_count,
        coalesce(l.hidden_amount_eur, 0) AS hidden_amount_eur,
        coalesce(l.not_paid_line_count, 0) AS not_paid_line_count,
        coalesce(l.not_paid_amount_eur, 0) AS not_paid_amount_eur,
        coalesce(l.receipt_line_count, 0) AS receipt_line_count,
        coalesce(l.receipt_amount_eur, 0) AS receipt_amount_eur,
        coalesce(l.repeated_part_line_count, 0) AS repeated_part_line_count,
        f.declared_total_eur,
        f.declared_total_row,
        coalesce(l.rows_amount_eur, 0) AS expected_total_eur,
        f.duplicate_of,
        f.possible_overlap_of,
        coalesce(f.possible_overlap_row_count, 0) AS possible_overlap_line_count,
        coalesce(f.possible_overlap_eur, 0)::DECIMAL(18, 2) AS possible_overlap_amount_eur,
        f.overlap_of,
        coalesce(f.overlap_row_count, 0) AS overlap_line_count,
        f.period_note
    FROM src_purchase_files AS f
    LEFT JOIN lines AS l ON l.source_file = f.source_file AND l.sheet_key = coalesce(f.source_sheet, '')
)
SELECT
    * REPLACE (
        coalesce((SELECT fm.masked_file FROM res_file_mask AS fm WHERE fm.source_file_md5 = md5(joined.source_file)),
                 source_file) AS source_file,
        coalesce((
            SELECT sm.masked_sheet FROM res_sheet_mask AS sm
            WHERE sm.source_file_md5 = md5(joined.source_file) AND sm.source_sheet_md5 = md5(joined.source_sheet)
        ),
                 source_sheet) AS source_sheet,
        coalesce((SELECT fm.masked_file FROM res_file_mask AS fm WHERE fm.source_file_md5 = md5(joined.duplicate_of)),
                 duplicate_of) AS duplicate_of,
        coalesce((
            SELECT fm.masked_file FROM res_file_mask AS fm WHERE fm.source_file_md5 = md5(joined.possible_overlap_of)
        ),
                 possible_overlap_of) AS possible_overlap_of,
        coalesce((SELECT fm.masked_file FROM res_file_mask AS fm WHERE fm.source_file_md5 = md5(joined.overlap_of)),
                 overlap_of) AS overlap_of,
        -- the note quotes the file's path (and sheet): masked like them
        replace(
            replace(
                period_note, source_file,
                coalesce((
                    SELECT fm.masked_file FROM res_file_mask AS fm WHERE fm.source_file_md5 = md5(joined.source_file)
                ), source_file)
            ),
            coalesce(source_sheet, '«»'),
            coalesce((
                SELECT sm.masked_sheet FROM res_sheet_mask AS sm
                WHERE sm.source_file_md5 = md5(joined.source_file) AND sm.source_sheet_md5 = md5(joined.source_sheet)
            ), source_sheet, '«»')
        ) AS period_note
    ),
    (CASE
        WHEN
            abs(expected_total_eur - declared_total_eur)
            <= least(
                abs(expected_total_eur - hidden_amount_eur - declared_total_eur),
                abs(expected_total_eur - not_paid_amount_eur - declared_total_eur),
                abs(expected_total_eur - hidden_amount_eur - not_paid_amount_eur - declared_total_eur)
            )
            THEN expected_total_eur - declared_total_eur
        WHEN
            abs(expected_total_eur - hidden_amount_eur - declared_total_eur)
            <= least(
                abs(expected_total_eur - not_paid_amount_eur - declared_total_eur),
                abs(expected_total_eur - hidden_amount_eur - not_paid_amount_eur - declared_total_eur)
            )
            THEN expected_total_eur - hidden_amount_eur - declared_total_eur
        WHEN
            abs(expected_total_eur - not_paid_amount_eur - declared_total_eur)
            <= abs(expected_total_eur - hidden_amount_eur - not_paid_amount_eur - declared_total_eur)
            THEN expected_total_eur - not_paid_amount_eur - declared_total_eur
        ELSE expected_total_eur - hidden_amount_eur - not_paid_amount_eur - declared_total_eur
    END)::DECIMAL(18, 2) AS total_difference_eur,
    -- a net total leaves the rejected or cancelled mandates out (« Annulé » lines of the export)
    CASE WHEN declared_total_eur IS NOT NULL
        THEN declared_total_eur IN (
            expected_total_eur, expected_total_eur - hidden_amount_eur, expected_total_eur - not_paid_amount_eur,
            expected_total_eur - hidden_amount_eur - not_paid_amount_eur
        )
    END AS has_matching_total,
    accepted_line_count + quarantined_line_count + duplicate_line_count = data_row_count AS has_all_rows_counted
FROM joined
ORDER BY source_file, source_sheet;
