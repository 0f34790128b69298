-- Ordinary words (rule 8): the words of the activity and place labels, less a final S or X, so
-- that neither TRAVAUX nor TRAVAIL, NETTOYAGE or TOULOUSE ever stands for a unit on its own. A
-- commune counts by its whole name only (one word): the parts of « Roche-Saint-Secret-Béconne »
-- are no place names. A nomenclature of its own, computed with the others (beside the reading
-- of the purchases) rather than at each masking on the critical chain: ≈ 0,1 s of regular
-- expressions over every French commune and CPV label; each distinct label and word is folded
-- and stemmed once.
CREATE OR REPLACE TABLE ref_ordinary_word AS
WITH labels AS (
    SELECT libelle AS v FROM ref_naf
    UNION
    SELECT label FROM ref_cpv
    UNION
    SELECT unnest([departement_nom, region_nom]) FROM ref_commune
    UNION
    SELECT commune_nom FROM ref_commune
    WHERE NOT regexp_matches(trim(regexp_replace(upper(strip_accents(commune_nom)), '[^A-Z0-9]+', ' ', 'g')), ' ')
),

tokens AS (
    SELECT DISTINCT
        unnest(string_split(trim(regexp_replace(upper(strip_accents(v)), '[^A-Z0-9]+', ' ', 'g')), ' ')) AS token
    FROM labels
    WHERE v IS NOT NULL
)

-- less a final S or X (the stem the masking compares)
SELECT DISTINCT
    CASE WHEN suffix(token, 'S') OR suffix(token, 'X') THEN left(token, length(token) - 1) ELSE token END AS stem
FROM tokens
WHERE length(token) >= 4
ORDER BY stem;
