-- Contract view: one row per input data row, `ok`, `quarantined` with its reason, or `duplicate`
-- (a row of a file identical to another file: counted nowhere).
CREATE OR REPLACE VIEW purchase_lines AS
-- Text that would name a non-diffusible unit is masked (res_line_mask); amounts are untouched.
-- A file whose name names one is shown under its masked name (res_file_mask), also where another
-- row points to it; so is a sheet whose name names one (res_sheet_mask).
SELECT
    p.line_id, coalesce(m.source_file, p.source_file) AS source_file,
    coalesce(sm.masked_sheet, p.source_sheet) AS source_sheet, p.source_row, p.source_line,
    coalesce(m.supplier_name, p.supplier_name) AS supplier_name, coalesce(m.siret_raw, p.siret_raw) AS siret_raw,
    p.amount_eur, p.purchase_date, p.fiscal_year, p.quarter,
    coalesce(m.category, p.category) AS category,
    coalesce(m.buying_entity, p.buying_entity) AS buying_entity,
    coalesce(m.mandate_number, p.mandate_number) AS mandate_number,
    p.status, coalesce(m.quarantine_reason, p.quarantine_reason) AS quarantine_reason, p.is_duplicate, p.row_kind,
    coalesce(d.masked_file, p.duplicate_of) AS duplicate_of
FROM stg_purchase_lines AS p
LEFT JOIN res_line_mask AS m USING (line_id)
LEFT JOIN res_file_mask AS d ON md5(p.duplicate_of) = d.source_file_md5
LEFT JOIN res_sheet_mask AS sm ON md5(p.source_file) = sm.source_file_md5 AND md5(p.source_sheet) = sm.source_sheet_md5;
