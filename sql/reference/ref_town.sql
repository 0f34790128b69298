-- Town names the Code officiel géographique gives to one département only, written as town_key
-- writes them: stg_purchase_lines reads there the département of a line that gives only its
-- town. Computed with the nomenclatures (beside the reading of the purchases), not at each
-- staging of the lines: the key of every French commune costs six regular expressions each.
CREATE OR REPLACE TABLE ref_town AS
SELECT
    town_key(commune_nom) AS town,
    min(departement_code) AS departement_code
FROM ref_commune
WHERE commune_nom IS NOT NULL AND departement_code IS NOT NULL
GROUP BY 1
HAVING count(DISTINCT departement_code) = 1 AND town_key(commune_nom) <> '';
