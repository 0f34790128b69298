-- Rule 7's file names, once: each payment file whose path (name or sub-folder) names a
-- non-diffusible unit, keyed by the md5 of its real path (which stays in src_/stg_ tables only),
-- with the path views, the dashboard and the run's warnings show instead.
-- Any other input file whose path names one (rules 2 and 4, res_text_mask: a note or a list the
-- run does not read, a status list) gets the same form of masked name: the warnings and the run
-- history name it too.
CREATE OR REPLACE TABLE res_file_mask AS
WITH payment AS (
    SELECT DISTINCT md5(p.source_file) AS source_file_md5, m.source_file AS masked_file
    FROM res_line_mask AS m
    INNER JOIN stg_purchase_lines AS p USING (line_id)
    WHERE m.source_file IS NOT NULL
)
SELECT source_file_md5, masked_file FROM payment
UNION ALL
SELECT
    md5(s.path) AS source_file_md5,
    masked_path(s.path, tm.label) AS masked_file
FROM sources_manifest AS s
INNER JOIN res_text_mask AS tm ON tm.text_md5 = md5(s.path)
WHERE md5(s.path) NOT IN (SELECT pm.source_file_md5 FROM payment AS pm);

-- The same for a workbook's sheet whose name names such a unit (rules 2 and 4, res_text_mask),
-- with or without lines: « feuille masquée <md5> (unité non diffusible (SIREN …)) », distinct per
-- sheet so that two masked sheets of one workbook stay two rows. A name that several units carry
-- cites the one of them the sheet's lines are linked to (res_line_mask.private_siren), else none.
CREATE OR REPLACE TABLE res_sheet_mask AS
WITH sheet_unit AS (
    SELECT p.source_file, p.source_sheet, list(DISTINCT lm.private_siren) AS sirens
    FROM stg_purchase_lines AS p
    INNER JOIN res_line_mask AS lm USING (line_id)
    WHERE p.source_sheet IS NOT NULL AND lm.private_siren IS NOT NULL
    GROUP BY p.source_file, p.source_sheet
)
SELECT DISTINCT
    md5(s.source_file) AS source_file_md5,
    md5(s.source_sheet) AS source_sheet_md5,
    'feuille masquée ' || left(md5(s.source_file || '/' || s.source_sheet), 6) || ' ('
    || CASE WHEN len(list_intersect(tm.sirens, su.sirens)) = 1
                THEN 'unité non diffusible (SIREN ' || list_intersect(tm.sirens, su.sirens)[1] || ')'
            ELSE tm.label END
    || ')' AS masked_sheet
FROM (
    SELECT source_file, source_sheet FROM src_purchase_files
    UNION
    SELECT source_file, unnest(unread_sheets) FROM src_purchase_files
    UNION
    SELECT source_file, source_sheet FROM stg_purchase_lines
) AS s
INNER JOIN res_text_mask AS tm ON tm.text_md5 = md5(s.source_sheet)
LEFT JOIN sheet_unit AS su ON su.source_file = s.source_file AND su.source_sheet = s.source_sheet;
