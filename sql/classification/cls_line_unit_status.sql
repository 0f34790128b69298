-- Status, at each resolved line's own date, of every unit the line's supplier may be: the matched
-- unit, each candidate of its supplier key and the unit its identifier designates when set aside.
-- An ESUS agreement counts only inside its window, a unit ceased before the date is not an active
-- ESS supplier, and when the SIRENE history is provided the legal form and INSEE flag are those
-- valid at that date. A credit note is judged at the date of the payment it reverses. One
-- computation for the matched unit (cls_purchase_line_status) and for the outcomes of lines not yet
-- matched (mart_purchase_line_estimate), so both use the line's date.
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
dated AS (
    -- an undated line's status is that of the 1st of July of its exercice, else of the reference date
    SELECT
        p.line_id,
        p.amount_eur,
        p.mandate_number,
        r.supplier_key,
        CASE WHEN r.match_status = 'matched' THEN r.siren END AS matched_siren,
        coalesce(p.purchase_date, make_date(p.fiscal_year, 7, 1), $reference_date) AS own_date
    FROM stg_purchase_lines AS p
    JOIN res_purchase_line_supplier AS r USING (line_id)
    WHERE p.status = 'ok'
),
paid AS (
    -- positive lines, one per supplier (matched unit, else supplier key), date and mandate number
    SELECT
        coalesce('u' || matched_siren, 'k' || supplier_key) AS payee,
        own_date,
        mandate_number,
        max(line_id) AS line_id
    FROM dated
    WHERE amount_eur > 0
    GROUP BY ALL
),
paid_by_date AS (
    SELECT payee, own_date, max(line_id) AS line_id FROM paid GROUP BY ALL
),
credits AS (
    SELECT line_id, own_date, mandate_number, coalesce('u' || matched_siren, 'k' || supplier_key) AS payee
    FROM dated
    WHERE amount_eur < 0
),
reversed AS (
    -- a credit note reverses spend already paid: it takes the status of that payment, the positive
    -- line of the same supplier (same matched unit, else same supplier key) with its mandate number
    -- (the latest on or before it, else the first after it: an export may date the cancellation
    -- before the payment it names), else the latest one dated on or before it; without one, its own date
    SELECT
        line_id,
        status_line_id,
        status_date
    FROM (
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date, 1 AS kind,
            p.own_date > c.own_date AS is_after, abs(datediff('day', c.own_date, p.own_date)) AS distance
        FROM credits AS c
        JOIN paid AS p ON p.payee = c.payee AND p.mandate_number = c.mandate_number
        UNION ALL
        SELECT
            c.line_id, p.line_id AS status_line_id, p.own_date AS status_date, 2 AS kind,
            FALSE AS is_after, 0 AS distance
        FROM credits AS c
        ASOF JOIN paid_by_date AS p ON p.payee = c.payee AND p.own_date <= c.own_date
    ) AS a
    QUALIFY row_number() OVER (
        PARTITION BY line_id ORDER BY kind ASC, is_after ASC, distance ASC, status_line_id DESC
    ) = 1
),
lines AS (
    SELECT
        u.line_id,
        u.siren,
        coalesce(rv.status_line_id, d.line_id) AS status_line_id,
        coalesce(rv.status_date, d.own_date) AS status_date
    FROM units AS u
    JOIN dated AS d USING (line_id)
    LEFT JOIN reversed AS rv USING (line_id)
),
esus_at_date AS (
    SELECT
        l.line_id,
        l.siren,
        min(e.date_agrement) AS esus_start_date,
        max(e.date_fin_agrement) AS esus_end_date
    FROM lines AS l
    JOIN src_esus AS e ON e.siren = l.siren AND l.status_date BETWEEN e.date_agrement AND e.date_fin_agrement
    GROUP BY l.line_id, l.siren
),
history_at_date AS (
    SELECT
        l.line_id,
        l.siren,
        h.categorie_juridique,
        h.insee_ess_flag,
        h.is_active
    FROM lines AS l
    JOIN stg_unite_legale_historique AS h
        ON h.siren = l.siren AND l.status_date >= h.start_date
        AND (h.end_date IS NULL OR l.status_date <= h.end_date)
    QUALIFY row_number() OVER (PARTITION BY l.line_id, l.siren ORDER BY h.start_date DESC) = 1
),
evidence AS (
    SELECT
        l.line_id,
        l.siren,
        l.status_line_id,
        l.status_date,
        s.siren IS NOT NULL AS is_known_unit,
        s.manual_is_ess,
        CASE WHEN h.line_id IS NOT NULL THEN lf.ess_family ELSE s.legal_form_family END AS legal_form_family,
        coalesce(h.categorie_juridique, s.categorie_juridique) AS categorie_juridique,
        ed.esus_start_date,
        ed.esus_end_date,
        CASE WHEN h.line_id IS NOT NULL THEN coalesce(h.insee_ess_flag = 'O', FALSE) ELSE s.has_insee_flag END
            AS has_insee_flag,
        coalesce(s.in_ess_france, FALSE) AS in_ess_france,
        ed.line_id IS NOT NULL AS is_esus_at_date,
        CASE
            WHEN h.line_id IS NOT NULL THEN h.is_active
            ELSE s.ceased_date IS NULL OR s.ceased_date > l.status_date
        END AS is_active_at_date,
        coalesce(s.is_inclusive, FALSE) AS is_inclusive
    FROM lines AS l
    LEFT JOIN cls_supplier_status AS s ON s.siren = l.siren
    LEFT JOIN esus_at_date AS ed ON ed.line_id = l.line_id AND ed.siren = l.siren
    LEFT JOIN history_at_date AS h ON h.line_id = l.line_id AND h.siren = l.siren
    LEFT JOIN ref_categorie_juridique_ess AS lf
        ON lf.categorie_juridique = h.categorie_juridique AND lf.is_ess_by_statute
),
flags AS (
    SELECT
        evidence.*,
        cj.libelle AS categorie_juridique_label,
        coalesce(manual_is_ess,
            legal_form_family IS NOT NULL OR has_insee_flag OR in_ess_france OR is_esus_at_date) AS is_ess_evidence
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
    is_inclusive AND is_active_at_date AS is_inclusive_at_date,
    -- a line not ESS at its date (unit ceased, agrément out of its window) has no ESS family
    CASE WHEN is_known_unit AND is_active_at_date AND is_ess_evidence
        THEN coalesce(legal_form_family, 'societe_commerciale_ess') END AS ess_family,
    -- the legal basis on status_date, in French, without the free text of a manual decision
    CASE WHEN is_known_unit AND is_active_at_date AND is_ess_evidence THEN
        concat_ws(' ; ',
            CASE WHEN manual_is_ess THEN 'Décision manuelle : ESS (status/ess_manuel.csv)' END,
            CASE WHEN manual_is_ess IS NULL AND legal_form_family IS NOT NULL
                THEN coalesce(trim(categorie_juridique_label), 'Forme juridique de l''ESS')
                    || ' (catégorie juridique ' || categorie_juridique || ')' END,
            CASE WHEN manual_is_ess IS NULL AND has_insee_flag
                THEN 'Inscrite ESS au répertoire SIRENE (indicateur INSEE = O)' END,
            CASE WHEN manual_is_ess IS NULL AND in_ess_france
                THEN 'Présente dans la liste des entreprises de l''ESS (ESS France)' END,
            CASE WHEN manual_is_ess IS NULL AND is_esus_at_date
                THEN 'ESUS agréé du ' || strftime(esus_start_date, '%Y-%m-%d')
                    || ' au ' || strftime(esus_end_date, '%Y-%m-%d') END
        )
    END AS ess_basis
FROM flags;
