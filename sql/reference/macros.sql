-- Sums of euros in exact decimal arithmetic, published as DECIMAL(18, 2) like every euro column
-- (DuckDB widens a sum of DECIMAL(18, 2) to DECIMAL(38, 2)); a DOUBLE input is rounded to the cent.
CREATE OR REPLACE MACRO eur_sum(X) AS sum(x::DECIMAL(18, 2))::DECIMAL(18, 2);

-- The name shown for an input file whose path names a non-diffusible unit (res_line_mask's rule 7,
-- res_file_mask): its top folder, « fichier masqué », a hash of the path, the label, its extension;
-- sub-folders dropped (one may be the unit's name).
CREATE OR REPLACE MACRO masked_path(PATH, LABEL) AS
regexp_extract(path, '^[^/]*/') || 'fichier masqué ' || left(md5(path), 6) || ' (' || label || ')'
|| coalesce(regexp_extract(path, '(\.[A-Za-z0-9]+)$', 1), '');
