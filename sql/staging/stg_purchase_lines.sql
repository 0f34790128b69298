-- Purchase lines with what can be read from their own cells: CPV code and département.
-- The département comes from the commune cell: an INSEE commune code, else a town name the Code
-- officiel géographique gives to one département only (« PAU », « ST JEAN DE LUZ », « PAU CEDEX »),
-- else a postal code (Corsica's 200xx–201xx are Corse-du-Sud, 202xx–206xx Haute-Corse; overseas
-- ones by their 3 digits). An export with both a town and a postal code column gives both cells
-- (commune_raw, commune_other_raw): a town name shared by several départements (« MONTAUT »,
-- « SAINT-MARTIN ») gives none, and the postal code beside it then says which one.
CREATE OR REPLACE TABLE stg_purchase_lines AS
WITH departements AS (
    SELECT DISTINCT departement_code FROM ref_commune
),

cells AS (
    SELECT
        p.line_id,
        -- an Excel number loses the postal code's leading zero (01000 typed 1000); the commune
        -- cell's postal code first, else the other place cell's
        coalesce(
            CASE
                WHEN regexp_matches(trim(coalesce(p.commune_raw, '')), '^[0-9]{4}$') THEN '0' || trim(p.commune_raw)
                ELSE nullif(regexp_extract(coalesce(p.commune_raw, ''), '(^|[^0-9])([0-9]{5})([^0-9]|$)', 2), '')
            END,
            CASE
                WHEN p.commune_other_raw IS NULL THEN NULL
                WHEN regexp_matches(trim(p.commune_other_raw), '^[0-9]{4}$') THEN '0' || trim(p.commune_other_raw)
                ELSE nullif(regexp_extract(p.commune_other_raw, '(^|[^0-9])([0-9]{5})([^0-9]|$)', 2), '')
            END
        ) AS postal_code
    FROM src_purchase_lines AS p
),

postal AS (
    SELECT
        line_id,
        CASE
            WHEN left(postal_code, 3) IN ('200', '201') THEN '2A'
            WHEN left(postal_code, 2) = '20' THEN '2B'
            WHEN left(postal_code, 2) IN ('97', '98') THEN left(postal_code, 3)
            ELSE left(postal_code, 2)
        END AS departement_code
    FROM cells
)

SELECT
    p.*,
    nullif(regexp_extract(coalesce(p.category, ''), '(^|[^0-9])([0-9]{8})([^0-9]|$)', 2), '') AS category_cpv,
    coalesce(c.departement_code, t.departement_code, u.departement_code, d.departement_code) AS line_departement
FROM src_purchase_lines AS p
LEFT JOIN ref_commune AS c ON c.commune_code = trim(p.commune_raw)
LEFT JOIN postal AS x ON x.line_id = p.line_id
LEFT JOIN departements AS d ON d.departement_code = x.departement_code
LEFT JOIN ref_town AS t ON t.town = town_key(p.commune_raw)
-- a town name in the other place column, read (six regular expressions) only when the commune
-- cell gave neither a commune code nor a town
LEFT JOIN ref_town AS u
    ON u.town = CASE
        WHEN p.commune_other_raw IS NOT NULL AND c.commune_code IS NULL AND t.town IS NULL
            THEN town_key(p.commune_other_raw)
    END;
