-- Sums of euros in exact decimal arithmetic, published as DECIMAL(18, 2) like every euro column
-- (DuckDB widens a sum of DECIMAL(18, 2) to DECIMAL(38, 2)); a DOUBLE input is rounded to the cent.
CREATE OR REPLACE MACRO eur_sum(X) AS sum(x::DECIMAL(18, 2))::DECIMAL(18, 2);

-- The name shown for an input file whose path names a non-diffusible unit (res_line_mask's rule 7,
-- res_file_mask): its top folder, « fichier masqué », a hash of the path, the label, its extension;
-- sub-folders dropped (one may be the unit's name).
CREATE OR REPLACE MACRO masked_path(PATH, LABEL) AS
regexp_extract(path, '^[^/]*/') || 'fichier masqué ' || left(md5(path), 6) || ' (' || label || ')'
|| coalesce(regexp_extract(path, '(\.[A-Za-z0-9]+)$', 1), '');

-- A town name as exports and the Code officiel géographique both write it, for comparing the two:
-- capitals without accents or punctuation, « ST »/« STE » for SAINT/SAINTE, an article written
-- after (« HAVRE (LE) »), « CEDEX » and digits (« PAU CEDEX 9 », « PARIS 15 ») left out. The
-- article's regular expression only where a ')' is, and the words replaced as plain text (the
-- same left-to-right replacement as a global regular expression of a fixed text): keyed for
-- every French commune at each run (ref_town), each expression counts.
CREATE OR REPLACE MACRO town_key(X) AS
trim(replace(replace(replace(regexp_replace(
    ' ' || (
        CASE
            WHEN contains(x, ')')
                THEN regexp_replace(
                    upper(strip_accents(replace(replace(x, 'œ', 'oe'), 'Œ', 'OE'))),
                    '^\s*(.*?)\s*\(\s*(LE|LA|LES|L)\s*''?\s*\)\s*$', '\2 \1'
                )
            ELSE upper(strip_accents(replace(replace(x, 'œ', 'oe'), 'Œ', 'OE')))
        END
    ) || ' ',
    '[^A-Z]+', ' ', 'g'), ' CEDEX ', ' '), ' STE ', ' SAINTE '), ' ST ', ' SAINT '));

-- The label of a masked text naming one or more non-diffusible units (an aggregate: in a query
-- grouped by the masked text and its line): the unit the line is linked to when the text names
-- it, else the one unit named, else no SIREN, never a namesake picked by its number
-- (res_line_mask).
CREATE OR REPLACE MACRO cited_label(NAMED, LINKED) AS
CASE
    WHEN bool_or(named = linked) THEN 'unité non diffusible (SIREN ' || min(linked) || ')'
    WHEN count(DISTINCT named) = 1 THEN 'unité non diffusible (SIREN ' || min(named) || ')'
    ELSE 'unité non diffusible'
END;
