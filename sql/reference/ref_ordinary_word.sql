-- Ordinary words (rule 8): the words of the activity and place labels, less a final S or X, so
-- that neither TRAVAUX nor TRAVAIL, NETTOYAGE or TOULOUSE ever stands for a unit on its own. A
-- commune counts by its whole name only (one word): the parts of « Roche-Saint-Secret-Béconne »
-- are no place names. A nomenclature of its own, computed with the others (beside the reading
-- of the purchases) rather than at each masking on the critical chain: ≈ 0,1 s of regular
-- expressions over every French commune and CPV label.
CREATE OR REPLACE TABLE ref_ordinary_word AS
WITH labels AS (
    SELECT libelle AS v FROM ref_naf
    UNION ALL
    SELECT label FROM ref_cpv
    UNION ALL
    SELECT unnest([departement_nom, region_nom]) FROM ref_commune
    UNION ALL
    SELECT commune_nom FROM ref_commune
    WHERE NOT regexp_matches(trim(regexp_replace(upper(strip_accents(commune_nom)), '[^A-Z0-9]+', ' ', 'g')), ' ')
)
SELECT DISTINCT regexp_replace(token, '[SX]$', '') AS stem
FROM (
    SELECT unnest(string_split(trim(regexp_replace(upper(strip_accents(v)), '[^A-Z0-9]+', ' ', 'g')), ' ')) AS token
    FROM labels
    WHERE v IS NOT NULL
) AS w
WHERE length(token) >= 4
ORDER BY stem;
