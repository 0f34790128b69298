-- Status, at each resolved line's own date, of every unit the line's supplier may be: the matched
-- unit, each candidate of its supplier key and the unit its identifier designates when set aside.
-- An ESUS agreement counts only inside its window, a unit ceased before the date is not an active
-- ESS supplier, and when the SIRENE history is provided the legal form and INSEE flag are those
-- valid at that date. A credit note is judged at the date of the payment it reverses
-- (cls_line_reversal). One computation for the matched unit (cls_purchase_line_status) and for the
-- outcomes of lines not yet matched (mart_purchase_line_estimate), so both use the line's date.
-- The inclusive lists (SIAE, EA, ESAT) name establishments: a line is inclusive when its own
-- establishment (the line's SIRET) is listed, not because another establishment of its unit is, or
-- when that establishment is closed and the unit's only active establishments are listed (it moved).
CREATE OR REPLACE TABLE cls_line_unit_status AS
WITH units AS (
    SELECT r.line_id, r.siren FROM res_purchase_line_supplier AS r WHERE r.siren IS NOT NULL
    UNION
    -- candidates weigh only for lines not certain (mart_purchase_line_estimate's is_certain)
    SELECT r.line_id, mc.siren
    FROM res_purchase_line_supplier AS r
    JOIN res_match_candidates AS mc USING (supplier_key)
    LEFT JOIN res_supplier_match AS m USING (supplier_key)
    WHERE mc.siren IS NOT NULL AND mc.score > 0
        AND (r.match_status <> 'matched' OR coalesce(m.is_decided_without_review, FALSE))
    UNION
    SELECT r.line_id, m.id_siren
    FROM res_purchase_line_supplier AS r
    JOIN res_supplier_match AS m USING (supplier_key)
    WHERE m.id_siren IS NOT NULL
),
lines AS (
    -- each unit at the line's status date (a credit note: the payment it reverses, cls_line_reversal);
    -- a status line with an exercice but no date may have been paid on any day of it: its units are
    -- also read on the exercice's first day and on each day of it their status may change (ESUS
    -- window, SIRENE history period, cessation), for the extreme bounds
    SELECT u.line_id, u.siren, rv.status_line_id, rv.status_date, rv.status_date AS eval_date
    FROM units AS u
    JOIN cls_line_reversal AS rv USING (line_id)
    UNION
    SELECT u.line_id, u.siren, rv.status_line_id, rv.status_date, d.eval_date
    FROM units AS u
    JOIN cls_line_reversal AS rv USING (line_id)
    JOIN stg_purchase_lines AS p
        ON p.line_id = rv.status_line_id AND p.purchase_date IS NULL AND p.fiscal_year IS NOT NULL
    JOIN (
        SELECT siren, date_agrement AS eval_date FROM src_esus
        UNION ALL
        SELECT siren, date_fin_agrement + 1 FROM src_esus
        UNION ALL
        SELECT siren, start_date FROM stg_unite_legale_historique
        UNION ALL
        SELECT siren, end_date + 1 FROM stg_unite_legale_historique
        UNION ALL
        SELECT siren, ceased_date FROM cls_supplier_status
        UNION ALL
        SELECT DISTINCT u2.siren, make_date(p2.fiscal_year, 1, 1)
        FROM units AS u2
        JOIN stg_purchase_lines AS p2 USING (line_id)
        WHERE p2.fiscal_year IS NOT NULL
    ) AS d ON d.siren = u.siren AND year(d.eval_date) = p.fiscal_year
),
esus_at_date AS (
    SELECT
        l.line_id,
        l.siren,
        l.eval_date,
        min(e.date_agrement) AS esus_start_date,
        max(e.date_fin_agrement) AS esus_end_date
    FROM lines AS l
    JOIN src_esus AS e ON e.siren = l.siren AND l.eval_date BETWEEN e.date_agrement AND e.date_fin_agrement
    GROUP BY l.line_id, l.siren, l.eval_date
),
line_establishment AS (
    -- the establishment the line designates (its SIRET, when it agrees with the unit)
    SELECT r.line_id, r.siren, r.siret FROM res_purchase_line_supplier AS r WHERE r.siren IS NOT NULL
),
inclusive_here AS (
    -- sure: the unit is listed whole, its NAF is an ESAT's, the line's establishment is listed, or
    -- the line names no establishment and the unit has no active establishment outside the lists;
    -- possible only: the line names no establishment and the unit has others.
    -- A closed establishment is in no current list: when the unit has no active establishment
    -- outside the lists (the structure moved), a payment to it is sure if a listed establishment
    -- still open already existed at the line's date, possible only if they all opened after it
    -- (the unit may have become inclusive with them)
    SELECT
        l.line_id,
        l.siren,
        coalesce(ls.is_whole_unit, FALSE) OR coalesce(s.naf = '88.10C', FALSE)
        OR coalesce(list_contains(ls.sirets, le.siret), FALSE)
        OR (le.siret IS NULL AND coalesce(ls.unlisted_active, 0) = 0)
        OR coalesce(list_contains(ls.closed_sirets, le.siret) AND ls.unlisted_active = 0
            AND ls.listed_open_since_date <= l.status_date, FALSE) AS is_sure,
        (le.siret IS NULL AND coalesce(ls.unlisted_active, 0) > 0)
        OR coalesce(list_contains(ls.closed_sirets, le.siret) AND ls.unlisted_active = 0, FALSE) AS is_possible
    -- once per line and unit: an undated line is read on several days (lines), its establishment once
    FROM (SELECT DISTINCT line_id, siren, status_line_id, status_date FROM lines) AS l
    JOIN cls_supplier_status AS s ON s.siren = l.siren AND s.is_inclusive
    LEFT JOIN stg_siae_unit AS ls ON ls.siren = l.siren
    -- a credit note: the establishment of the payment it reverses, as for its date
    LEFT JOIN line_establishment AS le ON le.line_id = coalesce(l.status_line_id, l.line_id) AND le.siren = l.siren
),
history_at_date AS (
    SELECT
        l.line_id,
        l.siren,
        l.eval_date,
        h.categorie_juridique,
        h.insee_ess_flag,
        h.is_active
    FROM lines AS l
    JOIN stg_unite_legale_historique AS h
        ON h.siren = l.siren AND l.eval_date >= h.start_date
        AND (h.end_date IS NULL OR l.eval_date <= h.end_date)
    QUALIFY row_number() OVER (PARTITION BY l.line_id, l.siren, l.eval_date ORDER BY h.start_date DESC) = 1
),
evidence AS (
    SELECT
        l.line_id,
        l.siren,
        l.status_line_id,
        l.status_date,
        l.eval_date,
        s.siren IS NOT NULL AS is_known_unit,
        s.manual_is_ess,
        CASE WHEN h.line_id IS NOT NULL THEN lf.ess_family ELSE s.legal_form_family END AS legal_form_family,
        coalesce(h.categorie_juridique, s.categorie_juridique) AS categorie_juridique,
        -- a coopérative under a company form, by its current legal name (stg_unite_legale.has_cooperative_name):
        -- in a period of the SIRENE history under another legal form, that name does not speak for it
        coalesce(s.has_cooperative_name AND (h.line_id IS NULL OR h.categorie_juridique = s.categorie_juridique),
            FALSE) AS has_cooperative_name,
        ed.esus_start_date,
        ed.esus_end_date,
        CASE WHEN h.line_id IS NOT NULL THEN coalesce(h.insee_ess_flag = 'O', FALSE) ELSE s.has_insee_flag END
            AS has_insee_flag,
        coalesce(s.in_ess_france, FALSE) AS in_ess_france,
        ed.line_id IS NOT NULL AS is_esus_at_date,
        CASE
            WHEN h.line_id IS NOT NULL THEN h.is_active
            ELSE s.ceased_date IS NULL OR s.ceased_date > l.eval_date
        END AS is_active_at_date,
        coalesce(ih.is_sure, FALSE) AS is_inclusive,
        coalesce(ih.is_possible AND NOT ih.is_sure, FALSE) AS is_inclusive_possible
    FROM lines AS l
    LEFT JOIN cls_supplier_status AS s ON s.siren = l.siren
    LEFT JOIN esus_at_date AS ed ON ed.line_id = l.line_id AND ed.siren = l.siren AND ed.eval_date = l.eval_date
    LEFT JOIN history_at_date AS h ON h.line_id = l.line_id AND h.siren = l.siren AND h.eval_date = l.eval_date
    LEFT JOIN inclusive_here AS ih ON ih.line_id = l.line_id AND ih.siren = l.siren
    LEFT JOIN ref_categorie_juridique_ess AS lf
        ON lf.categorie_juridique = h.categorie_juridique AND lf.is_ess_by_statute
        AND NOT coalesce(s.is_endowment_fund, FALSE)
),
flags AS (
    SELECT
        evidence.*,
        cj.libelle AS categorie_juridique_label,
        coalesce(manual_is_ess,
            legal_form_family IS NOT NULL OR has_cooperative_name OR has_insee_flag OR in_ess_france
            OR is_esus_at_date) AS is_ess_evidence
    FROM evidence
    LEFT JOIN ref_categorie_juridique_ess AS cj USING (categorie_juridique)
)
SELECT
    line_id,
    siren,
    status_line_id,
    status_date,
    is_known_unit,
    is_active_at_date,
    is_esus_at_date AND is_active_at_date AS is_esus_at_date,
    is_known_unit AND is_active_at_date AND is_ess_evidence AS is_ess_at_date,
    -- ESS at the date but for its cessation: a payment to a ceased unit may still be its own (a late
    -- invoice, its liquidation), which the extreme bounds keep as possible
    is_known_unit AND is_ess_evidence AS is_ess_if_active,
    is_inclusive AND is_active_at_date AS is_inclusive_at_date,
    -- a listed unit paid without saying which establishment, when it has others: not counted
    -- inclusive, but it may be (the run's warning gives the amount)
    is_inclusive_possible AND is_active_at_date AS is_inclusive_possible_at_date,
    -- a line not ESS at its date (unit ceased, agrément out of its window) has no ESS family
    CASE WHEN is_known_unit AND is_active_at_date AND is_ess_evidence
        THEN coalesce(legal_form_family, CASE WHEN has_cooperative_name THEN 'cooperative' END,
            'societe_commerciale_ess') END AS ess_family,
    -- the legal basis on status_date, in French, without the free text of a manual decision
    CASE WHEN is_known_unit AND is_active_at_date AND is_ess_evidence THEN
        concat_ws(' ; ',
            CASE WHEN manual_is_ess THEN 'Décision manuelle : ESS (status/ess_manuel.csv)' END,
            CASE WHEN manual_is_ess IS NULL AND legal_form_family IS NOT NULL
                THEN coalesce(trim(categorie_juridique_label), 'Forme juridique de l''ESS')
                    || ' (catégorie juridique ' || categorie_juridique || ')' END,
            CASE WHEN manual_is_ess IS NULL AND legal_form_family IS NULL AND has_cooperative_name
                THEN 'Coopérative par son nom légal (SCOP, SCIC, société coopérative), sous la catégorie juridique '
                    || categorie_juridique END,
            CASE WHEN manual_is_ess IS NULL AND has_insee_flag
                THEN 'Inscrite ESS au répertoire SIRENE (indicateur INSEE = O)' END,
            CASE WHEN manual_is_ess IS NULL AND in_ess_france
                THEN 'Présente dans la liste des entreprises de l''ESS (ESS France)' END,
            CASE WHEN manual_is_ess IS NULL AND is_esus_at_date
                THEN 'ESUS agréé du ' || strftime(esus_start_date, '%Y-%m-%d')
                    || ' au ' || strftime(esus_end_date, '%Y-%m-%d') END
        )
    END AS ess_basis,
    -- an undated line of an exercice: ESS on at least one day of it, and on every day of it (the
    -- extreme bounds of mart_purchase_line_estimate); for a dated line, its status at the date
    bool_or(is_known_unit AND is_active_at_date AND is_ess_evidence) OVER unit_days AS is_ess_on_some_day,
    bool_and(is_known_unit AND is_active_at_date AND is_ess_evidence) OVER unit_days AS is_ess_on_every_day,
    bool_or(is_known_unit AND is_ess_evidence) OVER unit_days AS is_ess_if_active_on_some_day,
    bool_and(is_known_unit AND is_ess_evidence) OVER unit_days AS is_ess_if_active_on_every_day
FROM flags
WINDOW unit_days AS (PARTITION BY line_id, siren)
QUALIFY eval_date = status_date;
