-- Text that views and outputs show instead of a purchase line's typed supplier name, category or
-- buying entity when it would reveal the name of a non-diffusible unit: a line resolved (matched,
-- or in review with a proposed SIREN) to such a unit loses its typed name, and any of these
-- fields that contains one of the names of a non-diffusible unit this run deals with (legal and
-- usual names, sigle, signs, names typed for it) shows « unité non diffusible (SIREN …) » instead.
-- The raw text stays in stg_purchase_lines only; amounts are untouched. Only masked lines have a row.
CREATE OR REPLACE TEMP TABLE _private_name AS
WITH involved AS (
    SELECT siren FROM res_supplier_match WHERE siren IS NOT NULL
    UNION
    SELECT siren FROM res_match_candidates WHERE siren IS NOT NULL
    UNION
    SELECT titulaire_siren FROM src_contracts WHERE titulaire_siren IS NOT NULL
),
names AS (
    SELECT u.siren, unnest([u.legal_name, u.usual_name_1, u.usual_name_2, u.usual_name_3, u.sigle]) AS name
    FROM stg_unite_legale AS u JOIN res_private_siren USING (siren)
    UNION ALL
    SELECT ps.siren, unnest([concat_ws(' ', f.first, nomUniteLegale), concat_ws(' ', f.first, nomUsageUniteLegale),
                             concat_ws(' ', nomUniteLegale, f.first), concat_ws(' ', nomUsageUniteLegale, f.first)])
    FROM src_sirene_unite_legale AS s
    JOIN res_private_siren AS ps ON ps.siren = lpad(trim(s.siren), 9, '0'),
    unnest([prenom1UniteLegale, prenomUsuelUniteLegale]) AS f (first)  -- each first name with each surname, both ways
    WHERE f.first IS NOT NULL
    UNION ALL
    SELECT e.siren, unnest([e.enseigne_1, e.enseigne_2, e.enseigne_3, e.usual_name])
    FROM stg_etablissement AS e JOIN involved USING (siren)
    WHERE e.is_non_diffusible OR e.siren IN (SELECT siren FROM res_private_siren)
    UNION ALL
    SELECT r.siren, p.supplier_name
    FROM res_purchase_line_supplier AS r
    JOIN res_private_siren USING (siren)
    JOIN stg_purchase_lines AS p USING (line_id)
    WHERE r.match_status IN ('matched', 'review')
    UNION ALL
    -- the name a DECP record gives a non-diffusible titulaire
    SELECT c.titulaire_siren, c.titulaire_name
    FROM src_contracts AS c JOIN res_private_siren AS ps ON ps.siren = c.titulaire_siren
),
folded AS (
    SELECT siren, trim(regexp_replace(upper(strip_accents(coalesce(name, ''))), '[^A-Z0-9]+', ' ', 'g')) AS folded
    FROM names
)
SELECT DISTINCT siren, folded FROM folded
WHERE length(folded) >= 3 AND folded NOT IN ('ND', 'ND ND', 'NON DIFFUSIBLE');

CREATE OR REPLACE TABLE res_line_mask AS
WITH texts AS (
    SELECT DISTINCT v FROM (
        SELECT supplier_name AS v FROM stg_purchase_lines
        UNION ALL
        SELECT category FROM stg_purchase_lines
        UNION ALL
        SELECT buying_entity FROM stg_purchase_lines
    ) AS typed WHERE v IS NOT NULL
),
hits AS (
    SELECT t.v, 'unité non diffusible (SIREN ' || min(n.siren) || ')' AS label
    FROM texts AS t
    JOIN _private_name AS n
        ON contains(' ' || trim(regexp_replace(upper(strip_accents(t.v)), '[^A-Z0-9]+', ' ', 'g')) || ' ',
                    ' ' || n.folded || ' ')
    GROUP BY t.v
),
resolved AS (
    SELECT r.line_id, ps.label
    FROM res_purchase_line_supplier AS r
    JOIN res_private_siren AS ps USING (siren)
    WHERE r.match_status IN ('matched', 'review')
),
masked AS (
    SELECT
        p.line_id,
        CASE WHEN p.supplier_name IS NOT NULL THEN coalesce(r.label, hs.label) END AS supplier_name,
        hc.label AS category,
        he.label AS buying_entity
    FROM stg_purchase_lines AS p
    LEFT JOIN resolved AS r USING (line_id)
    LEFT JOIN hits AS hs ON hs.v = p.supplier_name
    LEFT JOIN hits AS hc ON hc.v = p.category
    LEFT JOIN hits AS he ON he.v = p.buying_entity
)
SELECT * FROM masked
WHERE supplier_name IS NOT NULL OR category IS NOT NULL OR buying_entity IS NOT NULL;

-- the supplier as typed, in the resolution table too
UPDATE res_supplier_match AS m
SET supplier_name = x.supplier_name
FROM (
    SELECT k.supplier_key, min(lm.supplier_name) AS supplier_name
    FROM res_line_mask AS lm JOIN res_line_supplier_key AS k USING (line_id)
    WHERE lm.supplier_name IS NOT NULL
    GROUP BY k.supplier_key
) AS x
WHERE m.supplier_key = x.supplier_key;

-- The same masking for the free text of DECP contracts (objet, titulaire's published name), keyed
-- by the text's md5 so that the raw text stays in src_contracts only. Only masked texts have a row.
CREATE OR REPLACE TABLE res_text_mask AS
WITH texts AS (
    SELECT DISTINCT v FROM (
        SELECT object AS v FROM src_contracts
        UNION ALL
        SELECT titulaire_name FROM src_contracts
    ) AS published WHERE v IS NOT NULL
)
SELECT md5(t.v) AS text_md5, 'unité non diffusible (SIREN ' || min(n.siren) || ')' AS label
FROM texts AS t
JOIN _private_name AS n
    ON contains(' ' || trim(regexp_replace(upper(strip_accents(t.v)), '[^A-Z0-9]+', ' ', 'g')) || ' ',
                ' ' || n.folded || ' ')
GROUP BY t.v;

DROP TABLE _private_name;
