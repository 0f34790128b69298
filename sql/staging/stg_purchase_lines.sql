-- Purchase lines with what can be read from their own cells: CPV code and département.
CREATE OR REPLACE TABLE stg_purchase_lines AS
SELECT
    p.*,
    nullif(regexp_extract(coalesce(p.category, ''), '(^|[^0-9])([0-9]{8})([^0-9]|$)', 2), '') AS category_cpv,
    coalesce(
        c.departement_code,
        CASE WHEN regexp_matches(coalesce(p.commune_raw, ''), '^[0-9]{5}$') AND left(p.commune_raw, 2) <> '97'
            THEN left(p.commune_raw, 2) END
    ) AS line_departement
FROM src_purchase_lines AS p
LEFT JOIN ref_commune AS c ON c.commune_code = p.commune_raw;
