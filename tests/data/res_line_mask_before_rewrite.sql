-- Text that views and outputs show instead of a purchase line's typed supplier name, category or
-- buying entity when it would reveal the name of a non-diffusible unit, for every line whatever
-- its status (quarantined and duplicate lines included). A field shows « unité non diffusible
-- (SIREN …) » instead of its text when:
--   1. the line is linked to such a unit: its SIRET/SIREN designates it (digits only: a wrong
--      check digit still points at the unit), or it is resolved to it (matched, or in review with
--      it as proposed SIREN), or, for a key decided by hand, the automatic resolution retained or
--      proposed it (a decision does not unmask) — its typed supplier name is masked;
--   2. the field contains one of the full names of a non-diffusible unit this run deals with
--      (legal, usual and former names, sigle, signs, first name with surname, names typed for it);
--      a unit of SIRENE whose full name of two words or more, one of them rare, any free text
--      contains (a DECP objet included) is one the run deals with (_contained_hit);
--   3. the field equals, after normalisation (accents, case, punctuation, legal forms,
--      civilities and small words dropped, word order ignored), the current or former name of any
--      non-diffusible unit of SIRENE, involved in the run or not;
--   4. the field contains, as a whole word, the surname (birth or usage name) of a non-diffusible
--      natural person of SIRENE, involved in the run or not: everywhere when the surname is rare in
--      SIRENE (carried by at most common_surname_count units; « Honoraires Me X » names a person
--      with no line of their own), only in the lines linked to that person otherwise;
--   5. the supplier name of a line whose best candidate is such a unit shares a distinctive word
--      (4 letters or more, not a legal form or small word; or 5 letters or more, almost equal) with
--      one of its names: the review file and the dashboard never put a typed name beside a masked
--      candidate when the name is the unit's own.
--   6. the reason of a line (quarantine, duplicate) quotes a cell that rules 2 to 4 would mask (a
--      name shifted into the amount or date column): that quoted cell is replaced by the label;
--   7. the line's file path names the unit (rules 2, 4, 8; name or sub-folder): shown as « purchases/
--      fichier masqué <md5> (label).ext », sub-folders dropped, in reasons too (sheets: res_text_mask).
--   8. a free text (category, buying entity, a cell the reason quotes, a file path; the supplier
--      name unless the line is matched to a diffusible unit) holds, as a whole word, a distinctive
--      word of an involved non-diffusible unit's names (« Annulé - voir TAMARILLO » for TAMARILLO
--      SECRET SARL): 4 letters or more, not a legal form, small word or generic word (SERVICES,
--      GROUPE…), not a word of the activity and place labels (NAF, CPV, communes: TRAVAUX,
--      NETTOYAGE, TOULOUSE), not a first name or surname of the unit (rule 4 decides those), of a
--      name SIRENE gives it (legal, usual and former names, sigle, signs; not a name typed for it), and
--      rare — carried by at most common_surname_count names of the loaded SIRENE (common_name_words:
--      the others, from the matching's token counts). In a line linked to the unit (rule 1) rarity
--      is not asked: its own state cell « doublon Secret » names it.
-- name_filler: legal forms, civilities and small words (achats.names). The raw text stays in
-- stg_purchase_lines only; amounts are untouched. Only masked lines have a row.
CREATE OR REPLACE TEMP TABLE _filler AS
SELECT unnest($name_filler) AS token;

-- The non-diffusible unit each line is linked to, whatever the line's status.
CREATE OR REPLACE TEMP TABLE _line_private AS
WITH ident AS (
    SELECT line_id, siret_raw, regexp_replace(siret_raw, '[^0-9]', '', 'g') AS digits
    FROM stg_purchase_lines
    WHERE siret_raw IS NOT NULL
),
ident_siren AS (
    SELECT
        line_id,
        -- a French VAT number: FR, a 2-digit key, the SIREN
        CASE WHEN length(digits) = 11 AND contains(upper(siret_raw), 'FR') THEN right(digits, 9)
             -- a SIRET that lost leading zeros in a spreadsheet (one, or more: achats.identifiers)
             WHEN length(digits) BETWEEN 10 AND 14 THEN left(lpad(digits, 14, '0'), 9)
             WHEN length(digits) IN (8, 9) THEN lpad(digits, 9, '0') END AS siren
    FROM ident
)
SELECT i.line_id, i.siren FROM ident_siren AS i JOIN res_private_siren USING (siren)
UNION
SELECT r.line_id, r.siren
FROM res_purchase_line_supplier AS r JOIN res_private_siren USING (siren)
WHERE r.match_status IN ('matched', 'review')
UNION
-- a key decided by hand stays linked to the unit the automatic resolution retained or proposed
SELECT k.line_id, m.undecided_siren
FROM res_line_supplier_key AS k
JOIN res_supplier_match AS m USING (supplier_key)
JOIN res_private_siren AS ps ON ps.siren = m.undecided_siren;

-- The cell texts a line's reason quotes (« … »): a shifted column may put a name there.
CREATE OR REPLACE TEMP TABLE _reason_segment AS
SELECT DISTINCT line_id, quarantine_reason AS reason,
    unnest(regexp_extract_all(quarantine_reason, '«\s*([^«»]*?)\s*»', 1)) AS seg
FROM stg_purchase_lines
WHERE quarantine_reason IS NOT NULL;

-- Every distinct typed text (reasons and their quoted cells included), its words and its name key
-- (words without filler, distinct, sorted).
CREATE OR REPLACE TEMP TABLE _typed_word AS
WITH texts AS (
    SELECT DISTINCT v FROM (
        SELECT supplier_name AS v FROM stg_purchase_lines
        UNION ALL
        SELECT category FROM stg_purchase_lines
        UNION ALL
        SELECT buying_entity FROM stg_purchase_lines
        UNION ALL
        -- the reason less its own file's path (masked apart, rule 7), and the path
        SELECT replace(quarantine_reason, source_file, ' ') FROM stg_purchase_lines
        UNION ALL
        SELECT source_file FROM stg_purchase_lines
        UNION ALL
        SELECT seg FROM _reason_segment
        UNION ALL
        -- identifier cells that hold text (a name typed in the SIRET or mandate column); digits
        -- alone name nobody
        SELECT unnest([siret_raw, mandate_number]) FROM stg_purchase_lines
        WHERE regexp_matches(siret_raw, '[A-Za-z]') OR regexp_matches(mandate_number, '[A-Za-z]')
    ) AS typed WHERE v IS NOT NULL
)
SELECT DISTINCT
    v, unnest(string_split(trim(regexp_replace(upper(strip_accents(v)), '[^A-Z0-9]+', ' ', 'g')), ' ')) AS token
FROM texts;

CREATE OR REPLACE TEMP TABLE _typed AS
WITH keys AS (
    SELECT v, string_agg(token, ' ' ORDER BY token) AS name_key
    FROM _typed_word
    WHERE token <> '' AND token NOT IN (SELECT f.token FROM _filler AS f)
    GROUP BY v
)
SELECT
    t.v,
    ' ' || trim(regexp_replace(upper(strip_accents(t.v)), '[^A-Z0-9]+', ' ', 'g')) || ' ' AS padded,
    k.name_key
FROM (SELECT DISTINCT v FROM _typed_word) AS t
LEFT JOIN keys AS k USING (v);

-- Non-diffusible natural persons of SIRENE: first names and surnames (current and former).
CREATE OR REPLACE TEMP TABLE _private_person AS
WITH current_names AS (
    SELECT
        u.siren, s.prenom1UniteLegale AS first_1, s.prenomUsuelUniteLegale AS first_2,
        s.nomUniteLegale AS surname_1, s.nomUsageUniteLegale AS surname_2
    FROM src_sirene_unite_legale AS s
    JOIN stg_unite_legale AS u ON u.siren = lpad(trim(s.siren), 9, '0')
    WHERE u.is_non_diffusible AND (s.nomUniteLegale IS NOT NULL OR s.nomUsageUniteLegale IS NOT NULL)
)
SELECT siren, first_1, first_2, surname_1, surname_2 FROM current_names
UNION ALL
SELECT c.siren, c.first_1, c.first_2, h.nomUniteLegale, h.nomUsageUniteLegale
FROM src_sirene_unite_legale_historique AS h
JOIN current_names AS c ON c.siren = lpad(trim(h.siren), 9, '0')
WHERE h.nomUniteLegale IS NOT NULL OR h.nomUsageUniteLegale IS NOT NULL;

-- Current and former names of every non-diffusible unit of SIRENE (rule 3), with their name key.
CREATE OR REPLACE TEMP TABLE _private_sirene_name AS
WITH names AS (
    SELECT u.siren, unnest([u.legal_name, u.usual_name_1, u.usual_name_2, u.usual_name_3]) AS name
    FROM stg_unite_legale AS u
    WHERE u.is_non_diffusible
    UNION ALL
    SELECT siren, unnest([concat_ws(' ', first_1, surname_1), concat_ws(' ', first_1, surname_2),
                          concat_ws(' ', first_2, surname_1), concat_ws(' ', first_2, surname_2)])
    FROM _private_person
    UNION ALL
    SELECT u.siren, unnest([h.denominationUniteLegale, h.denominationUsuelle1UniteLegale])
    FROM src_sirene_unite_legale_historique AS h
    JOIN stg_unite_legale AS u ON u.siren = lpad(trim(h.siren), 9, '0')
    WHERE u.is_non_diffusible
    UNION ALL
    SELECT e.siren, unnest([e.enseigne_1, e.enseigne_2, e.enseigne_3, e.usual_name])
    FROM stg_etablissement AS e
    WHERE e.is_non_diffusible
),
words AS (
    SELECT siren, name,
        unnest(string_split(trim(regexp_replace(upper(strip_accents(name)), '[^A-Z0-9]+', ' ', 'g')), ' ')) AS token
    FROM names
    WHERE name IS NOT NULL
)
SELECT siren, name, string_agg(DISTINCT token, ' ' ORDER BY token) AS name_key
FROM words
WHERE token <> '' AND token NOT IN (SELECT f.token FROM _filler AS f)
GROUP BY siren, name;

CREATE OR REPLACE TEMP TABLE _equal_hit AS
SELECT t.v, min(n.siren) AS siren
FROM _typed AS t
JOIN _private_sirene_name AS n USING (name_key)
WHERE length(t.name_key) >= 3 AND t.name_key NOT IN ('ND', 'ND ND', 'DIFFUSIBLE NON')
GROUP BY t.v;

-- Non-diffusible units of SIRENE, involved in the run or not, whose full name (two words or more)
-- a free text contains (« reprise du marché de GROSEILLIER SERVICES », « anciennement ASSOCIATION
-- PRUNELLIER »): they become units the run deals with, so that rules 2 and 8 mask them. Texts and
-- names are joined on the name's rare words (not in common_name_words: an equality join on a few
-- names per word, not a scan of each text for every name of a national stock).
CREATE OR REPLACE TEMP TABLE _contained_hit AS
WITH published AS (
    SELECT padded FROM _typed
    UNION
    SELECT ' ' || trim(regexp_replace(upper(strip_accents(v)), '[^A-Z0-9]+', ' ', 'g')) || ' ' FROM (
        SELECT object AS v FROM src_contracts
        UNION ALL
        SELECT justification FROM src_ess_manual
        UNION ALL
        SELECT note FROM src_overrides
    ) AS t
    WHERE v IS NOT NULL
),

text_word AS (
    SELECT DISTINCT padded, unnest(string_split(trim(padded), ' ')) AS token FROM published
),

names AS (
    SELECT DISTINCT siren, trim(regexp_replace(upper(strip_accents(name)), '[^A-Z0-9]+', ' ', 'g')) AS folded
    FROM _private_sirene_name
    WHERE name IS NOT NULL
),

name_word AS (
    SELECT n.siren, n.folded, w.token
    FROM names AS n, unnest(string_split(n.folded, ' ')) AS w (token)
    WHERE contains(n.folded, ' ') AND length(w.token) >= 4
        AND w.token NOT IN (SELECT f.token FROM _filler AS f)
        AND w.token NOT IN (SELECT unnest($common_name_words))
)

SELECT DISTINCT nw.siren
FROM text_word AS tw
JOIN name_word AS nw USING (token)
WHERE contains(tw.padded, ' ' || nw.folded || ' ');

-- Non-diffusible units this run deals with.
CREATE OR REPLACE TEMP TABLE _involved_private AS
SELECT siren FROM res_private_siren
UNION
SELECT siren FROM _equal_hit
UNION
SELECT siren FROM _contained_hit;

-- Full names of the involved non-diffusible units (rule 2).
CREATE OR REPLACE TEMP TABLE _private_name AS
WITH involved AS (
    SELECT siren FROM res_supplier_match WHERE siren IS NOT NULL
    UNION
    SELECT siren FROM res_match_candidates WHERE siren IS NOT NULL
    UNION
    SELECT titulaire_siren FROM src_contracts WHERE titulaire_siren IS NOT NULL
    UNION
    -- the titulaires a modification brought (a cession), even replaced later
    SELECT unnest(string_split(titulaire_ids_modified, ',')) FROM src_contracts
    WHERE titulaire_ids_modified IS NOT NULL
    UNION
    SELECT siren FROM _involved_private
),
names AS (
    SELECT u.siren, unnest([u.legal_name, u.usual_name_1, u.usual_name_2, u.usual_name_3, u.sigle]) AS name
    FROM stg_unite_legale AS u JOIN _involved_private USING (siren)
    UNION ALL
    -- each first name with each surname, both ways, former surnames included
    SELECT p.siren, unnest([concat_ws(' ', f.first, p.surname_1), concat_ws(' ', f.first, p.surname_2),
                            concat_ws(' ', p.surname_1, f.first), concat_ws(' ', p.surname_2, f.first)])
    FROM _private_person AS p
    JOIN _involved_private USING (siren),
        unnest([p.first_1, p.first_2]) AS f (first)
    WHERE f.first IS NOT NULL
    UNION ALL
    -- former names (StockUniteLegaleHistorique)
    SELECT ip.siren, unnest([h.denominationUniteLegale, h.denominationUsuelle1UniteLegale])
    FROM src_sirene_unite_legale_historique AS h
    JOIN _involved_private AS ip ON ip.siren = lpad(trim(h.siren), 9, '0')
    UNION ALL
    SELECT e.siren, unnest([e.enseigne_1, e.enseigne_2, e.enseigne_3, e.usual_name])
    FROM stg_etablissement AS e JOIN involved USING (siren)
    WHERE e.is_non_diffusible OR e.siren IN (SELECT ip.siren FROM _involved_private AS ip)
    UNION ALL
    -- the names typed on lines linked to the unit, whatever their status
    SELECT lp.siren, p.supplier_name
    FROM _line_private AS lp
    JOIN stg_purchase_lines AS p USING (line_id)
    UNION ALL
    -- the name a DECP record gives a non-diffusible titulaire
    SELECT c.titulaire_siren, c.titulaire_name
    FROM src_contracts AS c JOIN res_private_siren AS ps ON ps.siren = c.titulaire_siren
),
folded AS (
    SELECT siren, trim(regexp_replace(upper(strip_accents(coalesce(name, ''))), '[^A-Z0-9]+', ' ', 'g')) AS folded
    FROM names
),
cores AS (
    -- a name less its legal form and small words, if 2 words are left (« X Y » for « X Y SARL »)
    SELECT f.siren, string_agg(w.token, ' ' ORDER BY w.pos) AS folded
    FROM (SELECT DISTINCT siren, folded FROM folded) AS f,
        unnest(string_split(f.folded, ' ')) WITH ORDINALITY AS w (token, pos)
    WHERE w.token <> '' AND w.token NOT IN (SELECT fl.token FROM _filler AS fl)
    GROUP BY f.siren, f.folded
    HAVING count(*) >= 2
)
SELECT DISTINCT siren, folded FROM folded
WHERE length(folded) >= 3 AND folded NOT IN ('ND', 'ND ND', 'NON DIFFUSIBLE')
UNION
SELECT siren, folded FROM cores
WHERE length(folded) >= 6 AND folded NOT IN ('ND ND', 'NON DIFFUSIBLE');

-- Surnames of the involved non-diffusible persons (rule 4), and whether they are rare in SIRENE.
-- Surnames of every non-diffusible person SIRENE gives (rule 4), with their first word: texts are
-- joined to them on that word (an equality join: every person of a national stock, not a scan of
-- each text for each surname).
CREATE OR REPLACE TEMP TABLE _private_surname AS
WITH surnames AS (
    SELECT DISTINCT
        p.siren, upper(trim(s.surname)) AS raw,
        trim(regexp_replace(upper(strip_accents(s.surname)), '[^A-Z0-9]+', ' ', 'g')) AS folded
    FROM _private_person AS p,
        unnest([p.surname_1, p.surname_2]) AS s (surname)
    WHERE s.surname IS NOT NULL
),
carriers AS (
    SELECT raw, count(DISTINCT siren) AS unit_count FROM (
        SELECT upper(trim(nomUniteLegale)) AS raw, siren FROM src_sirene_unite_legale
        WHERE upper(trim(nomUniteLegale)) IN (SELECT s.raw FROM surnames AS s)
        UNION ALL
        SELECT upper(trim(nomUsageUniteLegale)), siren FROM src_sirene_unite_legale
        WHERE upper(trim(nomUsageUniteLegale)) IN (SELECT s.raw FROM surnames AS s)
    ) AS c
    GROUP BY raw
)
SELECT
    s.siren, s.folded, split_part(s.folded, ' ', 1) AS first_word,
    coalesce(c.unit_count, 0) <= $common_surname_count AS is_rare
FROM surnames AS s
LEFT JOIN carriers AS c USING (raw)
WHERE length(s.folded) >= 3 AND s.folded NOT IN ('ND', 'NON DIFFUSIBLE')
    AND s.folded NOT IN (SELECT f.token FROM _filler AS f);

-- The distinctive words of each involved non-diffusible unit's names (rule 8), and whether the
-- loaded SIRENE names them rarely (not in common_name_words).
CREATE OR REPLACE TEMP TABLE _private_word AS
WITH person_word AS (
    SELECT DISTINCT p.siren, w.token
    FROM _private_person AS p,
        unnest(string_split(trim(regexp_replace(
            upper(strip_accents(concat_ws(' ', p.first_1, p.first_2, p.surname_1, p.surname_2))),
            '[^A-Z0-9]+', ' ', 'g'
        )), ' ')) AS w (token)
),
sirene_names AS (
    -- the names SIRENE gives the unit (not the names typed for it, which may carry other words:
    -- « TAMARILLO SECRET FACTURE MAIRIE »)
    SELECT u.siren, unnest([u.legal_name, u.usual_name_1, u.usual_name_2, u.usual_name_3, u.sigle]) AS name
    FROM stg_unite_legale AS u JOIN _involved_private USING (siren)
    UNION ALL
    SELECT ip.siren, unnest([h.denominationUniteLegale, h.denominationUsuelle1UniteLegale])
    FROM src_sirene_unite_legale_historique AS h
    JOIN _involved_private AS ip ON ip.siren = lpad(trim(h.siren), 9, '0')
    UNION ALL
    SELECT e.siren, unnest([e.enseigne_1, e.enseigne_2, e.enseigne_3, e.usual_name])
    FROM stg_etablissement AS e
    WHERE e.siren IN (SELECT ip.siren FROM _involved_private AS ip)
        OR e.is_non_diffusible AND e.siren IN (SELECT m.siren FROM res_supplier_match AS m)
),
words AS (
    SELECT DISTINCT n.siren, w.token
    FROM sirene_names AS n,
        unnest(string_split(
            trim(regexp_replace(upper(strip_accents(n.name)), '[^A-Z0-9]+', ' ', 'g')), ' '
        )) AS w (token)
    WHERE n.name IS NOT NULL AND length(w.token) >= 4 AND NOT regexp_matches(w.token, '^[0-9]+$')
)
SELECT w.siren, w.token, w.token NOT IN (SELECT unnest($common_name_words)) AS is_rare
FROM words AS w
WHERE w.token NOT IN (SELECT f.token FROM _filler AS f)
    AND w.token NOT IN (SELECT unnest($generic_words))
    AND regexp_replace(w.token, '[SX]$', '') NOT IN (SELECT o.stem FROM ref_ordinary_word AS o)
    AND NOT EXISTS (SELECT 1 FROM person_word AS pw WHERE pw.siren = w.siren AND pw.token = w.token);

CREATE OR REPLACE TABLE res_line_mask AS
WITH text_hit_unit AS (
    -- rules 2, 3 and 4 (rare surnames): the text itself names the unit (each unit it may name)
    SELECT t2.v, n.siren FROM _typed AS t2
    JOIN _private_name AS n ON contains(t2.padded, ' ' || n.folded || ' ')
    UNION ALL
    -- every namesake of an equal name (_equal_hit keeps the first): the reason picks among them
    SELECT t4.v, n4.siren FROM _typed AS t4
    JOIN _private_sirene_name AS n4 USING (name_key)
    WHERE t4.v IN (SELECT eh.v FROM _equal_hit AS eh)
    UNION ALL
    SELECT t3.v, s.siren FROM _typed AS t3
    JOIN _typed_word AS tw3 ON tw3.v = t3.v
    JOIN _private_surname AS s ON s.is_rare AND s.first_word = tw3.token
    WHERE contains(t3.padded, ' ' || s.folded || ' ')
),
linked AS (
    -- rule 1, and rule 4 for a common surname in a line linked to its carrier. A line linked to
    -- several units (a hand decision for another namesake than the automatic one) cites the unit
    -- its figures go to (its resolution)
    SELECT lp.line_id, coalesce(min(lp.siren) FILTER (WHERE r.siren IS NOT NULL), min(lp.siren)) AS siren
    FROM _line_private AS lp
    LEFT JOIN res_purchase_line_supplier AS r
        ON r.line_id = lp.line_id AND r.siren = lp.siren AND r.match_status IN ('matched', 'review')
    GROUP BY lp.line_id
),
line_cite AS (
    -- the unit a label of the line cites when its text names several units: the one the line is
    -- linked to, else, for a row that is no payment (a recap or total row, a mandate never paid),
    -- the one unit the lines of its file under the same typed supplier name are linked to
    SELECT line_id, siren FROM linked
    UNION ALL
    SELECT p.line_id, n.siren
    FROM stg_purchase_lines AS p
    JOIN (
        -- per file and typed name (not line by line: a file may hold thousands of one supplier's lines)
        SELECT o.source_file, o.supplier_name, min(lp.siren) AS siren
        FROM stg_purchase_lines AS o
        JOIN _line_private AS lp ON lp.line_id = o.line_id
        GROUP BY o.source_file, o.supplier_name
        HAVING count(DISTINCT lp.siren) = 1
    ) AS n ON n.source_file = p.source_file AND n.supplier_name = p.supplier_name
    WHERE p.line_id NOT IN (SELECT l.line_id FROM linked AS l)
),
line_text AS (
    SELECT DISTINCT p.line_id, t.v
    FROM stg_purchase_lines AS p,
        unnest([p.supplier_name, p.category, p.buying_entity, p.siret_raw, p.mandate_number]) AS t (v)
    WHERE t.v IS NOT NULL
),
text_hits AS (
    -- rules 2 to 4: a text that several units' names fit cites the unit the line is linked to,
    -- else the one unit named, else no SIREN (never a namesake picked by its number)
    SELECT lt.line_id, lt.v,
        cited_label(h.siren, c.siren) AS label
    FROM line_text AS lt
    JOIN text_hit_unit AS h ON h.v = lt.v
    LEFT JOIN line_cite AS c ON c.line_id = lt.line_id
    GROUP BY lt.line_id, lt.v
),
linked_surname AS (
    -- the line's own unit first (linked), when the text names several units it is linked to
    SELECT lp.line_id, t.v, coalesce(min(s.siren) FILTER (WHERE s.siren = l.siren), min(s.siren)) AS siren
    FROM _line_private AS lp
    JOIN stg_purchase_lines AS p USING (line_id)
    JOIN _private_surname AS s ON s.siren = lp.siren
    JOIN _typed AS t ON t.v IN (p.supplier_name, p.category, p.buying_entity, p.siret_raw, p.mandate_number)
    LEFT JOIN linked AS l ON l.line_id = lp.line_id
    WHERE contains(t.padded, ' ' || s.folded || ' ')
    GROUP BY lp.line_id, t.v
),
word_hit_unit AS (
    -- rule 8, everywhere: a rare distinctive word of an involved unit's names, as a whole word
    SELECT DISTINCT tw.v, pw.siren
    FROM _typed_word AS tw
    JOIN _private_word AS pw ON pw.token = tw.token AND pw.is_rare
),
word_hits AS (
    -- rule 8, with the same choice of SIREN
    SELECT lt.line_id, lt.v,
        cited_label(h.siren, c.siren) AS label
    FROM line_text AS lt
    JOIN word_hit_unit AS h ON h.v = lt.v
    LEFT JOIN line_cite AS c ON c.line_id = lt.line_id
    GROUP BY lt.line_id, lt.v
),
linked_word AS (
    -- rule 8 in a line linked to the unit: any distinctive word of its names
    SELECT lt.line_id, tw.v, coalesce(min(pw.siren) FILTER (WHERE pw.siren = l.siren), min(pw.siren)) AS siren
    FROM (
        SELECT lp.line_id, lp.siren, unnest([p.category, p.buying_entity, p.siret_raw, p.mandate_number]) AS v
        FROM _line_private AS lp
        JOIN stg_purchase_lines AS p USING (line_id)
        UNION ALL
        SELECT lp.line_id, lp.siren, rs.seg
        FROM _line_private AS lp
        JOIN _reason_segment AS rs USING (line_id)
    ) AS lt
    JOIN _typed_word AS tw ON tw.v = lt.v
    JOIN _private_word AS pw ON pw.siren = lt.siren AND pw.token = tw.token
    LEFT JOIN linked AS l ON l.line_id = lt.line_id
    GROUP BY lt.line_id, tw.v
),
diffusible_match AS (
    -- lines matched to a diffusible unit: their typed supplier name is that unit's (rule 8 spares it)
    SELECT r.line_id FROM res_purchase_line_supplier AS r
    WHERE r.match_status = 'matched' AND r.siren NOT IN (SELECT ps.siren FROM res_private_siren AS ps)
),
best_private AS (
    -- rule 5: the line's best candidate is a non-diffusible unit and the typed name shares a
    -- distinctive word with one of its names
    -- several such candidates (a tie, or the best one before a manual decision): no SIREN
    SELECT k.line_id,
        CASE WHEN count(DISTINCT c.siren) = 1 THEN 'unité non diffusible (SIREN ' || min(c.siren) || ')'
            ELSE 'unité non diffusible' END AS label
    FROM res_line_supplier_key AS k
    JOIN stg_purchase_lines AS p USING (line_id)
    JOIN (
        SELECT supplier_key, siren FROM res_match_candidates WHERE rank = 1
        UNION
        -- as before a manual decision
        SELECT supplier_key, undecided_best_siren FROM res_supplier_match WHERE undecided_best_siren IS NOT NULL
    ) AS c ON c.supplier_key = k.supplier_key
    JOIN _involved_private AS ip ON ip.siren = c.siren
    JOIN _typed_word AS tw ON tw.v = p.supplier_name
    JOIN (
        SELECT siren, unnest(string_split(folded, ' ')) AS token FROM _private_name
    ) AS nw ON nw.siren = c.siren
    WHERE length(tw.token) >= 4 AND length(nw.token) >= 4
        AND tw.token NOT IN (SELECT f.token FROM _filler AS f)
        AND nw.token NOT IN (SELECT f.token FROM _filler AS f)
        AND (tw.token = nw.token
             OR (length(tw.token) >= 5 AND length(nw.token) >= 5
                 AND jaro_winkler_similarity(tw.token, nw.token) >= 0.9))
    GROUP BY k.line_id
),
reason_hit AS (
    -- rule 6: a quoted cell of the reason that names the unit is replaced by the label; a reason
    -- that names it outside quotes is replaced whole. A name that several units carry cites the
    -- unit the line is linked to (rule 1: the block a « Total tiers » follows), else the one unit
    -- named, else no SIREN: never a namesake the line has nothing to do with
    SELECT rs.line_id,
        cited_label(th.siren, l.siren) AS label,
        '«\s*(' || string_agg(DISTINCT regexp_escape(rs.seg), '|') || ')\s*»' AS pattern
    FROM _reason_segment AS rs
    JOIN (
        SELECT NULL AS line_id, v, siren FROM text_hit_unit
        UNION ALL
        SELECT NULL, v, siren FROM word_hit_unit
        UNION ALL
        SELECT line_id, v, siren FROM linked_word
    ) AS th ON th.v = rs.seg AND coalesce(th.line_id, rs.line_id) = rs.line_id
    LEFT JOIN line_cite AS l ON l.line_id = rs.line_id
    WHERE rs.seg <> ''
    GROUP BY rs.line_id
),
reason_whole_hit AS (
    -- a reason that names a unit outside quotes, with the same choice of SIREN
    SELECT p.line_id,
        cited_label(h.siren, l.siren) AS label
    FROM stg_purchase_lines AS p
    JOIN text_hit_unit AS h ON h.v = replace(p.quarantine_reason, p.source_file, ' ')
    LEFT JOIN line_cite AS l ON l.line_id = p.line_id
    GROUP BY p.line_id
),
file_hit AS (
    -- rule 7: a payment file whose path names the unit (a rare surname in the file name) is shown
    -- under a masked name; the raw tables keep the real path. A path that several units' names fit
    -- cites the one of them its lines are linked to, else the one unit named, else no SIREN
    SELECT
        h.v AS source_file,
        masked_path(h.v, CASE
            WHEN count(DISTINCT h.siren) FILTER (WHERE fl.siren IS NOT NULL) = 1
                THEN 'unité non diffusible (SIREN ' || min(h.siren) FILTER (WHERE fl.siren IS NOT NULL) || ')'
            WHEN count(DISTINCT h.siren) = 1 THEN 'unité non diffusible (SIREN ' || min(h.siren) || ')'
            ELSE 'unité non diffusible' END) AS masked_file
    FROM (
        SELECT v, siren FROM text_hit_unit
        UNION
        SELECT v, siren FROM word_hit_unit
    ) AS h
    LEFT JOIN (
        SELECT DISTINCT sp.source_file, lp.siren
        FROM stg_purchase_lines AS sp JOIN _line_private AS lp USING (line_id)
    ) AS fl ON fl.source_file = h.v AND fl.siren = h.siren
    WHERE h.v IN (SELECT sp.source_file FROM stg_purchase_lines AS sp)
    GROUP BY h.v
),
masked AS (
    SELECT
        p.line_id,
        CASE WHEN p.supplier_name IS NOT NULL THEN coalesce(
            'unité non diffusible (SIREN ' || l.siren || ')', 'unité non diffusible (SIREN ' || ls.siren || ')',
            hs.label, bp.label,
            CASE WHEN dm.line_id IS NULL THEN ws.label END
        ) END AS supplier_name,
        coalesce('unité non diffusible (SIREN ' || lc.siren || ')', hc.label,
                 'unité non diffusible (SIREN ' || lwc.siren || ')', wc.label) AS category,
        coalesce('unité non diffusible (SIREN ' || le.siren || ')', he.label,
                 'unité non diffusible (SIREN ' || lwe.siren || ')', we.label) AS buying_entity,
        -- an identifier cell holding text is free text too (rules 2 to 4 and 8)
        coalesce('unité non diffusible (SIREN ' || li.siren || ')', hi.label,
                 'unité non diffusible (SIREN ' || lwi.siren || ')', wi.label) AS siret_raw,
        coalesce('unité non diffusible (SIREN ' || lm.siren || ')', hm.label,
                 'unité non diffusible (SIREN ' || lwm.siren || ')', wm.label) AS mandate_number,
        CASE WHEN rh.line_id IS NOT NULL
                 THEN regexp_replace(
                     replace(p.quarantine_reason, p.source_file, coalesce(fh.masked_file, p.source_file)),
                     rh.pattern, '« ' || rh.label || ' »', 'g'
                 )
             WHEN hr.label IS NOT NULL THEN 'motif masqué : ' || hr.label
             WHEN fh.masked_file IS NOT NULL THEN replace(p.quarantine_reason, p.source_file, fh.masked_file)
        END AS quarantine_reason,
        fh.masked_file AS source_file,
        l.siren AS private_siren
    FROM stg_purchase_lines AS p
    LEFT JOIN linked AS l USING (line_id)
    LEFT JOIN best_private AS bp USING (line_id)
    LEFT JOIN linked_surname AS ls ON ls.line_id = p.line_id AND ls.v = p.supplier_name
    LEFT JOIN linked_surname AS lc ON lc.line_id = p.line_id AND lc.v = p.category
    LEFT JOIN linked_surname AS le ON le.line_id = p.line_id AND le.v = p.buying_entity
    LEFT JOIN linked_surname AS li ON li.line_id = p.line_id AND li.v = p.siret_raw
    LEFT JOIN linked_surname AS lm ON lm.line_id = p.line_id AND lm.v = p.mandate_number
    LEFT JOIN text_hits AS hi ON hi.line_id = p.line_id AND hi.v = p.siret_raw
    LEFT JOIN text_hits AS hm ON hm.line_id = p.line_id AND hm.v = p.mandate_number
    LEFT JOIN word_hits AS wi ON wi.line_id = p.line_id AND wi.v = p.siret_raw
    LEFT JOIN word_hits AS wm ON wm.line_id = p.line_id AND wm.v = p.mandate_number
    LEFT JOIN linked_word AS lwi ON lwi.line_id = p.line_id AND lwi.v = p.siret_raw
    LEFT JOIN linked_word AS lwm ON lwm.line_id = p.line_id AND lwm.v = p.mandate_number
    LEFT JOIN text_hits AS hs ON hs.line_id = p.line_id AND hs.v = p.supplier_name
    LEFT JOIN text_hits AS hc ON hc.line_id = p.line_id AND hc.v = p.category
    LEFT JOIN text_hits AS he ON he.line_id = p.line_id AND he.v = p.buying_entity
    LEFT JOIN word_hits AS ws ON ws.line_id = p.line_id AND ws.v = p.supplier_name
    LEFT JOIN word_hits AS wc ON wc.line_id = p.line_id AND wc.v = p.category
    LEFT JOIN word_hits AS we ON we.line_id = p.line_id AND we.v = p.buying_entity
    LEFT JOIN linked_word AS lwc ON lwc.line_id = p.line_id AND lwc.v = p.category
    LEFT JOIN linked_word AS lwe ON lwe.line_id = p.line_id AND lwe.v = p.buying_entity
    LEFT JOIN diffusible_match AS dm ON dm.line_id = p.line_id
    LEFT JOIN reason_whole_hit AS hr ON hr.line_id = p.line_id
    LEFT JOIN reason_hit AS rh ON rh.line_id = p.line_id
    LEFT JOIN file_hit AS fh ON fh.source_file = p.source_file
)
SELECT * FROM masked
WHERE supplier_name IS NOT NULL OR category IS NOT NULL OR buying_entity IS NOT NULL
    OR siret_raw IS NOT NULL OR mandate_number IS NOT NULL OR quarantine_reason IS NOT NULL OR source_file IS NOT NULL;

-- the supplier and the identifier as typed, in the resolution table too (the review file shows
-- both): each masked when its lines' is
UPDATE res_supplier_match AS m
SET supplier_name = coalesce(x.supplier_name, m.supplier_name), siret_raw = coalesce(x.siret_raw, m.siret_raw)
FROM (
    SELECT
        k.supplier_key,
        min(lm.supplier_name) AS supplier_name,
        min(lm.siret_raw) AS siret_raw
    FROM res_line_mask AS lm JOIN res_line_supplier_key AS k USING (line_id)
    WHERE lm.supplier_name IS NOT NULL OR lm.siret_raw IS NOT NULL
    GROUP BY k.supplier_key
) AS x
WHERE m.supplier_key = x.supplier_key;

-- The same masking for the other free texts that come from inputs and reach outputs: DECP contracts
-- (objet, titulaire's published name), the justification of a manual ESS decision
-- (status/ess_manuel.csv), a reviewer's note (overrides.csv, quoted in the match reason) and the
-- slug of a marché de l'inclusion page (built from the name and the
-- place: « jean-dupont-31 »). Rules 2 (a full name) and 4 (a rare surname as a whole word), keyed by
-- the text's md5 so that the raw text stays in src_* only. Only masked texts have a row.
CREATE OR REPLACE TABLE res_text_mask AS
WITH texts AS (
    SELECT DISTINCT v FROM (
        SELECT object AS v FROM src_contracts
        UNION ALL
        SELECT titulaire_name FROM src_contracts
        UNION ALL
        SELECT justification FROM src_ess_manual
        UNION ALL
        SELECT slug FROM src_siae
        UNION ALL
        SELECT note FROM src_overrides
        UNION ALL
        -- sheet names (res_sheet_mask), read or not (an unread sheet is named in a warning)
        SELECT source_sheet FROM src_purchase_files
        UNION ALL
        SELECT unnest(unread_sheets) FROM src_purchase_files
        UNION ALL
        -- every input file's path, read or not (res_file_mask: the warnings name unread files too)
        SELECT path FROM sources_manifest
    ) AS published WHERE v IS NOT NULL
),
padded AS (
    SELECT v, ' ' || trim(regexp_replace(upper(strip_accents(v)), '[^A-Z0-9]+', ' ', 'g')) || ' ' AS padded
    FROM texts
),
words AS (
    SELECT DISTINCT v, unnest(string_split(trim(padded), ' ')) AS token FROM padded
),
hits AS (
    SELECT t.v, n.siren FROM padded AS t
    JOIN _private_name AS n ON contains(t.padded, ' ' || n.folded || ' ')
    UNION ALL
    SELECT t.v, s.siren FROM padded AS t
    JOIN words AS w ON w.v = t.v
    JOIN _private_surname AS s ON s.is_rare AND s.first_word = w.token
    WHERE contains(t.padded, ' ' || s.folded || ' ')
    UNION ALL
    -- rule 8, except in the names of titulaires and SIAE slugs (a diffusible unit's own name)
    SELECT w.v, pw.siren FROM words AS w
    JOIN _private_word AS pw ON pw.token = w.token AND pw.is_rare
    WHERE w.v NOT IN (SELECT c.titulaire_name FROM src_contracts AS c WHERE c.titulaire_name IS NOT NULL)
        AND w.v NOT IN (SELECT sa.slug FROM src_siae AS sa WHERE sa.slug IS NOT NULL)
)
-- a text that several units' names fit cites none of them here (never a namesake picked by its
-- number); res_sheet_mask cites the one its lines are linked to
SELECT
    md5(v) AS text_md5,
    CASE WHEN count(DISTINCT siren) = 1 THEN 'unité non diffusible (SIREN ' || min(siren) || ')'
        ELSE 'unité non diffusible' END AS label,
    list(DISTINCT siren ORDER BY siren) AS sirens
FROM hits
GROUP BY v;

-- A reviewer's note is quoted in the reason of the decision it comes with: masked there.
UPDATE res_supplier_match AS m
SET reason = replace(m.reason, o.note, 'note masquée : ' || tm.label)
FROM src_overrides AS o
JOIN res_text_mask AS tm ON tm.text_md5 = md5(o.note)
WHERE m.override_row = o.source_row AND contains(m.reason, o.note);

UPDATE res_purchase_line_supplier AS r
SET match_reason = m.reason
FROM res_supplier_match AS m
WHERE m.supplier_key = r.supplier_key AND m.override_row IS NOT NULL AND r.match_reason <> m.reason;

DROP TABLE _private_word;
DROP TABLE _private_name;
DROP TABLE _private_surname;
DROP TABLE _equal_hit;
DROP TABLE _contained_hit;
DROP TABLE _involved_private;
DROP TABLE _private_sirene_name;
DROP TABLE _private_person;
DROP TABLE _typed;
DROP TABLE _typed_word;
DROP TABLE _line_private;
DROP TABLE _reason_segment;
DROP TABLE _filler;
