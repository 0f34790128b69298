-- Notified amounts of the buyer's contracts (DECP), apart from paid amounts: per notification
-- year, for undated contracts ('sans date') and overall ('ALL'). Periods add up to 'ALL'.
-- Each contract counts once (republications and earlier versions are marked is_duplicate by the
-- reader); only valid amounts are summed, unknown ones are counted; concessions are reported in
-- their own columns, apart from marchés; quarantined records are counted, never summed. A
-- titulaire is ESS by its status on the notification date (SIRENE history, ESUS window).
CREATE OR REPLACE TABLE mart_contracts_summary AS
WITH kept AS (
    SELECT *, coalesce(cast(year(notification_date) AS VARCHAR), 'sans date') AS period
    FROM src_contracts
    WHERE NOT is_duplicate
),
contracts AS (
    SELECT
        source_file, source_index,
        any_value(period) AS period,
        any_value(contract_kind) AS contract_kind,
        any_value(status) AS status,
        any_value(status) = 'ok' AND any_value(contract_kind) = 'marche' AS is_marche,
        any_value(status) = 'ok' AND any_value(contract_kind) = 'concession' AS is_concession,
        any_value(amount_status) = 'valid' AS has_amount,
        any_value(amount_initial_eur) AS amount_initial_eur,
        any_value(amount_last_eur) AS amount_last_eur,
        any_value(notification_date) IS NULL AS is_undated,
        any_value(notification_date) IS NULL AND nullif(trim(any_value(notification_date_raw)), '') IS NOT NULL
            AS has_unusable_date,
        bool_or(has_social_consideration) AS has_social_consideration
    FROM kept
    GROUP BY source_file, source_index
),
-- The inclusive lists name establishments (cls_line_unit_status's rule): a titulaire is inclusive
-- when its SIRET is listed, its unit is listed by SIREN alone or is inclusive without being listed
-- (an ESAT's NAF, 88.10C), or it is given without SIRET and its unit has no active establishment
-- outside the lists.
history_at_date AS (
    -- the titulaire's legal form, INSEE flag and state on the notification date, when the SIRENE
    -- history is provided (as for a purchase line, cls_line_unit_status)
    SELECT
        c.source_file, c.source_index, c.titulaire_siren,
        lf.ess_family AS legal_form_family,
        coalesce(h.insee_ess_flag = 'O', FALSE) AS has_insee_flag,
        h.is_active
    FROM kept AS c
    JOIN stg_unite_legale_historique AS h
        ON h.siren = c.titulaire_siren AND c.notification_date >= h.start_date
        AND (h.end_date IS NULL OR c.notification_date <= h.end_date)
    LEFT JOIN ref_categorie_juridique_ess AS lf
        ON lf.categorie_juridique = h.categorie_juridique AND lf.is_ess_by_statute
    QUALIFY row_number() OVER (
        PARTITION BY c.source_file, c.source_index, c.titulaire_siren ORDER BY h.start_date DESC
    ) = 1
),
classified AS (
    SELECT
        c.period, c.amount_eur,
        CASE
            WHEN h.titulaire_siren IS NOT NULL THEN h.is_active
            ELSE coalesce(s.is_active OR s.ceased_date > c.notification_date, FALSE)
        END
        AND s.siren IS NOT NULL
        AND coalesce(s.manual_is_ess,
            CASE WHEN h.titulaire_siren IS NOT NULL
                THEN h.legal_form_family IS NOT NULL AND NOT s.is_endowment_fund OR h.has_insee_flag OR s.in_ess_france
                ELSE s.is_ess_undated END
            OR EXISTS (
                SELECT 1 FROM src_esus AS e WHERE e.siren = c.titulaire_siren
                    AND c.notification_date BETWEEN e.date_agrement AND e.date_fin_agrement), FALSE) AS is_ess,
        coalesce(s.is_inclusive AND (
            -- a unit inclusive without being listed: by its ESAT NAF (88.10C), the whole unit
            ls.siren IS NULL OR ls.is_whole_unit
            OR coalesce(list_contains(ls.sirets, c.titulaire_siret), FALSE)
            OR (c.titulaire_siret IS NULL AND coalesce(ls.unlisted_active, 0) = 0)
        ), FALSE) AS is_inclusive
    FROM kept AS c
    LEFT JOIN cls_supplier_status AS s ON s.siren = c.titulaire_siren
    LEFT JOIN stg_siae_unit AS ls ON ls.siren = c.titulaire_siren
    LEFT JOIN history_at_date AS h
        ON h.source_file = c.source_file AND h.source_index = c.source_index AND h.titulaire_siren = c.titulaire_siren
    WHERE c.status = 'ok' AND c.contract_kind = 'marche' AND c.amount_status = 'valid'
),
superseded AS (
    -- earlier versions of a contract republished (another amount, or before its modifications):
    -- counted nowhere, shown so that a finance officer sees which publication was kept
    SELECT DISTINCT source_file, source_index,
        coalesce(cast(year(notification_date) AS VARCHAR), 'sans date') AS period
    FROM src_contracts
    WHERE duplicate_kind = 'superseded'
),
periods AS (
    SELECT DISTINCT period FROM contracts
    UNION
    SELECT 'ALL'
),
by_contract AS (
    SELECT
        p.period,
        count(c.source_index) FILTER (WHERE c.is_marche) AS contract_count,
        coalesce(eur_sum(CASE WHEN c.is_marche AND c.has_amount THEN c.amount_initial_eur END), 0)
            AS notified_amount_eur,
        coalesce(eur_sum(CASE WHEN c.is_marche THEN c.amount_last_eur END), 0) AS amount_after_modifications_eur,
        coalesce(eur_sum(CASE WHEN c.is_marche AND c.has_amount AND c.has_social_consideration
                              THEN c.amount_initial_eur END), 0) AS social_consideration_amount_eur,
        count(c.source_index) FILTER (WHERE c.is_marche AND NOT c.has_amount) AS unknown_amount_contract_count,
        count(c.source_index) FILTER (WHERE c.is_marche AND c.is_undated) AS undated_contract_count,
        count(c.source_index) FILTER (WHERE c.is_marche AND c.has_unusable_date) AS unusable_date_contract_count,
        count(c.source_index) FILTER (WHERE c.status = 'quarantined') AS quarantined_contract_count,
        count(c.source_index) FILTER (WHERE c.is_concession) AS concession_count,
        coalesce(eur_sum(CASE WHEN c.is_concession AND c.has_amount THEN c.amount_initial_eur END), 0)
            AS concession_amount_eur,
        count(c.source_index) FILTER (WHERE c.is_concession AND NOT c.has_amount) AS concession_unknown_amount_count
    FROM periods AS p
    LEFT JOIN contracts AS c ON p.period = 'ALL' OR c.period = p.period
    GROUP BY p.period
),
by_titulaire AS (
    SELECT
        p.period,
        coalesce(eur_sum(CASE WHEN c.is_ess THEN c.amount_eur END), 0) AS ess_titulaire_amount_eur,
        coalesce(eur_sum(CASE WHEN c.is_inclusive THEN c.amount_eur END), 0) AS inclusive_titulaire_amount_eur
    FROM periods AS p
    LEFT JOIN classified AS c ON p.period = 'ALL' OR c.period = p.period
    GROUP BY p.period
)
SELECT
    b.period,
    b.contract_count,
    b.notified_amount_eur,
    b.amount_after_modifications_eur,
    b.social_consideration_amount_eur,
    t.ess_titulaire_amount_eur,
    t.inclusive_titulaire_amount_eur,
    b.social_consideration_amount_eur / nullif(b.notified_amount_eur, 0) AS social_consideration_share,
    t.ess_titulaire_amount_eur / nullif(b.notified_amount_eur, 0) AS ess_titulaire_share,
    b.unknown_amount_contract_count,
    b.undated_contract_count,
    b.unusable_date_contract_count,
    b.quarantined_contract_count,
    (SELECT count(*) FROM superseded AS x WHERE b.period = 'ALL' OR x.period = b.period) AS superseded_record_count,
    b.concession_count,
    b.concession_amount_eur,
    b.concession_unknown_amount_count
FROM by_contract AS b
JOIN by_titulaire AS t USING (period)
ORDER BY b.period = 'ALL', b.period = 'sans date', b.period;
