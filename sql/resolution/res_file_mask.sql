-- Rule 7's file names, once: each payment file whose path names a non-diffusible unit, keyed by
-- the md5 of its real path (which stays in src_/stg_ tables only), with the path views, the
-- dashboard and the run's warnings show instead.
CREATE OR REPLACE TABLE res_file_mask AS
SELECT DISTINCT md5(p.source_file) AS source_file_md5, m.source_file AS masked_file
FROM res_line_mask AS m
INNER JOIN stg_purchase_lines AS p USING (line_id)
WHERE m.source_file IS NOT NULL;
