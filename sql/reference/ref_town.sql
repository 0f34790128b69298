-- Town names the Code officiel géographique gives to one département only, written as town_key
-- writes them: stg_purchase_lines reads there the département of a line that gives only its
-- town. Computed with the nomenclatures (beside the reading of the purchases), not at each
-- staging of the lines: the key of a name costs six regular expressions, so each distinct name
-- is keyed once (≈ 33 000 names for ≈ 35 000 communes), in one expression, not twice.
CREATE OR REPLACE TABLE ref_town AS
WITH communes AS (
    SELECT
        commune_nom,
        departement_code
    FROM ref_commune
    WHERE commune_nom IS NOT NULL AND departement_code IS NOT NULL
),

keys AS MATERIALIZED (  -- keyed once: inlined, the filter on town would key again
    SELECT
        commune_nom,
        town_key(commune_nom) AS town
    FROM (SELECT DISTINCT commune_nom FROM communes) AS n
)

SELECT
    k.town,
    min(c.departement_code) AS departement_code
FROM communes AS c
INNER JOIN keys AS k ON c.commune_nom = k.commune_nom
WHERE k.town <> ''
GROUP BY k.town
HAVING count(DISTINCT c.departement_code) = 1;
