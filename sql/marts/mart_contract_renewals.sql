-- Action 1: the buyer's contracts (DECP marchés) with their estimated end (notification + duration
-- after modifications), those ending in the renewal window ($renewal_min_months to
-- $renewal_max_months after $reference_date), the social considerations already used, the local
-- ESS and inclusive structures able to answer (mart_ess_sourcing) and the levers that could apply.
-- Leads for buyers, not legal advice.
CREATE OR REPLACE TABLE mart_contract_renewals AS
-- Free text that would name a non-diffusible unit (objet, published titulaire name) is replaced by
-- « unité non diffusible (SIREN …) » (res_text_mask); a non-diffusible titulaire is never named.
-- A DECP file whose path names such a unit is shown under its masked name (res_file_mask).
WITH kept AS (
    SELECT
        c.* REPLACE (
            -- a text that several non-diffusible namesakes carry cites the contract's titulaire
            -- when it is one of them, else res_text_mask's label (the one unit named, else none)
            coalesce(CASE WHEN list_contains(mo.sirens, c.titulaire_siren)
                    THEN 'unité non diffusible (SIREN ' || c.titulaire_siren || ')' END,
                mo.label, c.object) AS object,
            coalesce(CASE WHEN list_contains(mt.sirens, c.titulaire_siren)
                    THEN 'unité non diffusible (SIREN ' || c.titulaire_siren || ')' END,
                mt.label, c.titulaire_name) AS titulaire_name,
            coalesce(fm.masked_file, c.source_file) AS source_file
        ),
        coalesce(u.is_non_diffusible, FALSE) OR ps.siren IS NOT NULL AS titulaire_private,
        coalesce(u.legal_name, u.usual_name_1, u.sigle) AS titulaire_sirene_name
    FROM src_contracts AS c
    LEFT JOIN stg_unite_legale AS u ON u.siren = c.titulaire_siren
    LEFT JOIN res_private_siren AS ps ON ps.siren = c.titulaire_siren
    LEFT JOIN res_text_mask AS mo ON mo.text_md5 = md5(c.object)
    LEFT JOIN res_text_mask AS mt ON mt.text_md5 = md5(c.titulaire_name)
    LEFT JOIN res_file_mask AS fm ON fm.source_file_md5 = md5(c.source_file)
    WHERE NOT c.is_duplicate AND c.status = 'ok' AND c.contract_kind = 'marche'
),
-- The titulaires today: those of the notification, or those a modification brought (a cession,
-- titulaire_ids_last: SIRENs, else the published id), named from SIRENE and masked alike.
current_ids AS (
    SELECT DISTINCT
        contract_uid,
        unnest(string_split(titulaire_ids_last, ',')) AS holder_id
    FROM kept
    WHERE titulaire_ids_last IS NOT NULL
),
holders AS (
    SELECT
        contract_uid,
        titulaire_siren AS siren,
        CASE WHEN titulaire_private THEN 'unité non diffusible (SIREN ' || titulaire_siren || ')'
            ELSE coalesce(titulaire_sirene_name, titulaire_name, titulaire_id_raw) END AS shown
    FROM kept
    WHERE titulaire_ids_last IS NULL
    UNION ALL
    SELECT
        i.contract_uid,
        u.siren,
        CASE WHEN coalesce(u.is_non_diffusible, FALSE) OR ps.siren IS NOT NULL
                THEN 'unité non diffusible (SIREN ' || i.holder_id || ')'
            ELSE coalesce(u.legal_name, u.usual_name_1, u.sigle, i.holder_id) END AS shown
    FROM current_ids AS i
    LEFT JOIN stg_unite_legale AS u ON u.siren = i.holder_id
    LEFT JOIN res_private_siren AS ps ON ps.siren = i.holder_id
),
holder_lists AS (
    SELECT
        h.contract_uid,
        -- sorted: without ORDER BY the order of several titulaires changes from run to run
        string_agg(DISTINCT h.shown, ' ; ' ORDER BY h.shown) AS titulaires,
        string_agg(DISTINCT h.siren, ',' ORDER BY h.siren) AS titulaire_sirens,
        bool_or(coalesce(s.is_ess, FALSE)) AS has_ess_titulaire,
        bool_or(coalesce(s.is_inclusive, FALSE)) AS has_inclusive_titulaire
    FROM holders AS h
    LEFT JOIN cls_supplier_status AS s ON s.siren = h.siren
    GROUP BY h.contract_uid
),
contracts AS (
    SELECT
        contract_uid,
        any_value(source_file) AS source_file,
        any_value(object) AS object,
        any_value(cpv) AS cpv,
        any_value(cpv_division) AS cpv_division,
        any_value(notification_date) AS notification_date,
        any_value(duration_months) AS duration_months,
        any_value(duration_last_months) AS duration_last_months,
        any_value(amount_initial_eur) AS amount_initial_eur,
        any_value(amount_last_eur) AS amount_last_eur,
        any_value(amount_status) AS amount_status,
        any_value(modification_count) AS modification_count,
        any_value(social_considerations) AS social_considerations,
        bool_or(has_social_consideration) AS has_social_consideration
    FROM kept
    GROUP BY contract_uid
),
offer AS (
    SELECT
        cpv_division,
        count(DISTINCT siren) FILTER (WHERE is_ess) AS local_ess_structure_count,
        count(DISTINCT siren) FILTER (WHERE is_inclusive) AS local_inclusive_structure_count,
        count(DISTINCT siren) FILTER (WHERE (is_ess OR is_inclusive) AND NOT is_current_supplier)
            AS untapped_structure_count
    FROM mart_ess_sourcing
    GROUP BY cpv_division
),
dated AS (
    SELECT
        c.*,
        h.titulaires,
        h.titulaire_sirens,
        h.has_ess_titulaire,
        h.has_inclusive_titulaire,
        cast(c.notification_date + to_months(c.duration_last_months) AS DATE) AS estimated_end_date
    FROM contracts AS c
    LEFT JOIN holder_lists AS h USING (contract_uid)
)
SELECT
    d.contract_uid,
    d.object,
    d.cpv,
    d.cpv_division,
    l.label AS cpv_label,
    d.notification_date,
    d.duration_months,
    d.duration_last_months,
    d.estimated_end_date,
    date_diff('month', cast($reference_date AS DATE), d.estimated_end_date) AS months_to_end,
    CASE
        WHEN d.estimated_end_date IS NULL THEN 'fin inconnue'
        WHEN d.estimated_end_date <= cast($reference_date AS DATE) THEN 'terminé'
        WHEN d.estimated_end_date <= cast($reference_date AS DATE) + to_months($renewal_min_months) THEN 'fin proche'
        WHEN d.estimated_end_date <= cast($reference_date AS DATE) + to_months($renewal_max_months) THEN 'à préparer'
        ELSE 'plus tard'
    END AS renewal_status,
    coalesce(d.estimated_end_date > cast($reference_date AS DATE) + to_months($renewal_min_months)
        AND d.estimated_end_date <= cast($reference_date AS DATE) + to_months($renewal_max_months), FALSE)
        AS is_in_renewal_window,
    CASE WHEN d.amount_status = 'valid' THEN d.amount_initial_eur END AS amount_initial_eur,
    CASE WHEN d.amount_status = 'valid' THEN d.amount_last_eur END AS amount_last_eur,
    d.modification_count,
    d.titulaires,
    d.titulaire_sirens,
    d.has_ess_titulaire,
    d.has_inclusive_titulaire,
    d.social_considerations,
    -- NULL: the record does not say (DECP v1 has no such field)
    CASE WHEN d.social_considerations IS NOT NULL THEN contains(lower(d.social_considerations), 'clause') END
        AS has_social_clause,
    CASE WHEN d.social_considerations IS NOT NULL THEN contains(lower(d.social_considerations), 'crit') END
        AS has_social_criterion,
    CASE WHEN d.social_considerations IS NOT NULL THEN contains(lower(d.social_considerations), 'réserv')
        OR contains(lower(d.social_considerations), 'reserv') END AS is_reserved,
    coalesce(o.local_ess_structure_count, 0) AS local_ess_structure_count,
    coalesce(o.local_inclusive_structure_count, 0) AS local_inclusive_structure_count,
    coalesce(o.untapped_structure_count, 0) AS untapped_structure_count,
    nullif(concat_ws(' ; ',
        CASE WHEN coalesce(o.local_inclusive_structure_count, 0) > 0
            THEN 'Marché réservé aux SIAE (L2113-13) ou aux EA/ESAT (L2113-12)' END,
        CASE
            WHEN d.cpv_division IN ('75', '79', '80', '85', '92', '98') AND coalesce(o.local_ess_structure_count, 0) > 0
            THEN
                'Réservation aux entreprises de l''ESS pour certains services sociaux, de santé '
                || 'ou culturels (L2113-15), selon les codes CPV de l''annexe'
            END,
        CASE WHEN coalesce(o.local_ess_structure_count + o.local_inclusive_structure_count, 0) > 0
                AND coalesce(d.amount_last_eur, d.amount_initial_eur, 0) >= 90000
            THEN 'Allotissement (L2113-10) : des lots à la taille des structures locales' END,
        CASE WHEN NOT coalesce(contains(lower(d.social_considerations), 'clause'), FALSE)
            THEN 'Clause sociale d''exécution (L2112-2)' END,
        CASE WHEN NOT coalesce(contains(lower(d.social_considerations), 'crit'), FALSE)
            THEN 'Critère social d''attribution (R2152-7)' END
    ), '') AS legal_levers,
    'Piste pour les acheteurs, pas un avis juridique' AS disclaimer,
    d.source_file
FROM dated AS d
LEFT JOIN offer AS o USING (cpv_division)
LEFT JOIN ref_cpv_division AS l USING (cpv_division)
ORDER BY d.estimated_end_date NULLS LAST, d.contract_uid;
