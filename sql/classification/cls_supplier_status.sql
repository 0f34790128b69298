-- ESS evidence per SIREN, each source kept apart (loi n° 2014-856, art. 1), plus the
-- inclusive (SIAE/EA/ESAT) and société à mission flags beside it, never mixed into it.
-- ESUS is dated: its windows live in src_esus and are applied per purchase date downstream;
-- here `is_esus` means valid at $reference_date (the last purchase date of the data).
CREATE OR REPLACE TABLE cls_supplier_status AS
WITH esus AS (
    SELECT
        siren,
        max(date_agrement) FILTER (WHERE $reference_date BETWEEN date_agrement AND date_fin_agrement) AS current_start,
        max(date_fin_agrement) FILTER (WHERE $reference_date BETWEEN date_agrement AND date_fin_agrement)
            AS current_end,
        max(date_agrement) AS last_start,
        max(date_fin_agrement) AS last_end
    FROM src_esus
    GROUP BY siren
),
siae AS (
    SELECT
        siren,
        string_agg(DISTINCT kind, ',' ORDER BY kind) AS kinds
    FROM src_siae
    GROUP BY siren
),
manual_raw AS (
    SELECT
        siren,
        last(is_ess ORDER BY source_row) AS is_ess,
        last(justification ORDER BY source_row) AS justification
    FROM src_ess_manual
    GROUP BY siren
),
-- The justification is free text typed by an agent: about a non-diffusible unit it is never shown
-- (it names the unit or its manager), and elsewhere it is masked when it names one (res_text_mask).
manual AS (
    SELECT
        m.siren,
        m.is_ess,
        CASE
            WHEN m.justification IS NULL THEN NULL
            WHEN ps.siren IS NOT NULL THEN 'justification masquée : ' || ps.label
            WHEN tm.text_md5 IS NOT NULL THEN 'justification masquée : ' || tm.label
            ELSE m.justification
        END AS justification
    FROM manual_raw AS m
    LEFT JOIN res_private_siren AS ps ON ps.siren = m.siren
    LEFT JOIN res_text_mask AS tm ON tm.text_md5 = md5(m.justification)
),
base AS (
    SELECT
        u.siren,
        u.categorie_juridique,
        u.naf,
        u.is_active,
        u.ceased_date,
        u.is_societe_mission,
        u.is_endowment_fund,
        u.has_cooperative_name,
        lf.ess_family AS legal_form_family,
        cj.libelle AS categorie_juridique_label,
        coalesce(u.insee_ess_flag = 'O', FALSE) AS has_insee_flag,
        ef.siren IS NOT NULL AS in_ess_france,
        es.current_start AS esus_start_date,
        es.current_end AS esus_end_date,
        es.last_start AS esus_last_start_date,
        es.last_end AS esus_last_end_date,
        m.is_ess AS manual_is_ess,
        m.justification AS manual_justification,
        s.kinds AS siae_kinds
    FROM stg_unite_legale AS u
    LEFT JOIN ref_categorie_juridique_ess AS lf
        -- a fonds de dotation filed under 9300 is no fondation (stg_unite_legale.is_endowment_fund)
        ON lf.categorie_juridique = u.categorie_juridique AND lf.is_ess_by_statute AND NOT u.is_endowment_fund
    LEFT JOIN ref_categorie_juridique AS cj ON cj.categorie_juridique = u.categorie_juridique
    LEFT JOIN (SELECT DISTINCT siren FROM src_ess_france) AS ef ON ef.siren = u.siren
    LEFT JOIN esus AS es ON es.siren = u.siren
    LEFT JOIN manual AS m ON m.siren = u.siren
    LEFT JOIN siae AS s ON s.siren = u.siren
),
flags AS (
    SELECT
        *,
        -- Evidence that does not depend on a date (the unit's state aside).
        coalesce(manual_is_ess,
            legal_form_family IS NOT NULL OR has_cooperative_name OR has_insee_flag OR in_ess_france) AS is_ess_undated,
        esus_start_date IS NOT NULL AS is_esus,
        coalesce(list_has_any(string_split(siae_kinds, ','), ['EI', 'AI', 'ACI', 'ETTI', 'EITI', 'GEIQ']), FALSE)
            AS is_siae,
        coalesce(list_has_any(string_split(siae_kinds, ','), ['EA', 'EATT']), FALSE) AS is_ea,
        coalesce(list_has_any(string_split(siae_kinds, ','), ['ESAT']), FALSE) OR naf = '88.10C' AS is_esat
    FROM base
)
SELECT
    siren,
    categorie_juridique,
    naf,
    is_active,
    ceased_date,
    is_societe_mission,
    is_endowment_fund,
    has_cooperative_name,
    legal_form_family,
    has_insee_flag,
    in_ess_france,
    esus_start_date,
    esus_end_date,
    esus_last_start_date,
    esus_last_end_date,
    manual_is_ess,
    is_ess_undated,
    is_esus,
    is_siae,
    is_ea,
    is_esat,
    is_siae OR is_ea OR is_esat AS is_inclusive,
    siae_kinds,
    coalesce(manual_is_ess, is_ess_undated OR is_esus) AND is_active AS is_ess,
    CASE
        WHEN NOT coalesce(manual_is_ess, is_ess_undated OR is_esus) THEN NULL
        WHEN legal_form_family IS NOT NULL THEN legal_form_family
        WHEN has_cooperative_name THEN 'cooperative'
        ELSE 'societe_commerciale_ess'
    END AS ess_family,
    concat_ws(',',
        CASE WHEN legal_form_family IS NOT NULL THEN 'legal_form' END,
        CASE WHEN has_cooperative_name AND legal_form_family IS NULL THEN 'cooperative_name' END,
        CASE WHEN has_insee_flag THEN 'insee_flag' END,
        CASE WHEN in_ess_france THEN 'ess_france' END,
        CASE WHEN is_esus THEN 'esus' END,
        CASE WHEN manual_is_ess IS NOT NULL THEN 'manual' END
    ) AS ess_sources,
    concat_ws(' ; ',
        CASE WHEN legal_form_family IS NOT NULL
            THEN trim(categorie_juridique_label) || ' (catégorie juridique ' || categorie_juridique || ')' END,
        CASE WHEN has_cooperative_name AND legal_form_family IS NULL
            THEN 'Coopérative par son nom légal (SCOP, SCIC, société coopérative : appellations réservées aux '
                || 'coopératives), sous la catégorie juridique ' || categorie_juridique END,
        CASE WHEN has_insee_flag THEN 'Inscrite ESS au répertoire SIRENE (indicateur INSEE = O)' END,
        CASE WHEN in_ess_france THEN 'Présente dans la liste des entreprises de l''ESS (ESS France)' END,
        CASE
            WHEN
                is_esus
                THEN
                    'ESUS agréé du '
                    || strftime(esus_start_date, '%Y-%m-%d')
                    || ' au '
                    || strftime(esus_end_date, '%Y-%m-%d')
             WHEN
                 esus_last_end_date IS NOT NULL
                 THEN
                     'Agrément ESUS échu ou futur ('
                     || strftime(esus_last_start_date, '%Y-%m-%d')
                     || ' au '
                     || strftime(esus_last_end_date, '%Y-%m-%d')
                     || ')'
             END,
        CASE WHEN manual_is_ess IS NOT NULL
            THEN 'Décision manuelle : ' || CASE WHEN manual_is_ess THEN 'ESS' ELSE 'non ESS' END
                 || coalesce(' (' || manual_justification || ')', '') END,
        CASE WHEN NOT is_active THEN 'Unité cessée le ' || coalesce(strftime(ceased_date, '%Y-%m-%d'), '?') END,
        CASE WHEN siae_kinds IS NOT NULL THEN 'Structure inclusive : ' || siae_kinds END,
        CASE WHEN is_societe_mission THEN 'Société à mission' END
    ) AS evidence
FROM flags;
