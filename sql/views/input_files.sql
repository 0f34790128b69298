-- Every input file of this run as analysts may see it: a path that names a non-diffusible unit is
-- shown under its masked name (res_file_mask, as in purchase_lines and the dashboard), and
-- file_id (md5 of the real path, res_file_mask.source_file_md5) ties it to its lines and to the
-- same file in hist_sources. The real path stays in the internal table sources_manifest.
CREATE OR REPLACE VIEW input_files AS
SELECT
    md5(s.path) AS file_id,
    coalesce(fm.masked_file, s.path) AS path,
    CASE WHEN fm.masked_file IS NOT NULL AND NOT contains(s.path, '/') THEN fm.masked_file ELSE s.kind END AS kind,
    s.size_bytes,
    s.modified_at,
    s.sha256,
    s.hash_scope,
    s.rows_kept,
    fm.masked_file IS NOT NULL AS is_path_masked
FROM sources_manifest AS s
LEFT JOIN res_file_mask AS fm ON s.path IS NOT NULL AND fm.source_file_md5 = md5(s.path)
ORDER BY path;
