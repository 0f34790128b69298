-- Action 1: the named local ESS and inclusive offer, one row per active local establishment of an
-- ESS or inclusive unit x CPV division its activity (NAF) can serve. "Local" is the buyer's
-- département ($local_scope = 'departement'), a list of EPCI ('epci') or a distance from the
-- buyer's seat ('distance', where commune points are shipped). Names and communes of
-- non-diffusible units or establishments are masked here, once.
CREATE OR REPLACE TABLE mart_ess_sourcing AS
WITH seat AS (
    SELECT pt.lat, pt.lon
    FROM stg_etablissement AS e
    JOIN ref_commune_point AS pt USING (commune_code)
    WHERE e.siren = $buyer_siren
    ORDER BY e.is_siege DESC, e.is_active DESC, e.siret ASC
    LIMIT 1
),
establishment AS (
    SELECT
        e.*,
        CASE WHEN $local_scope = 'distance' THEN round(2 * 6371 * asin(sqrt(
            pow(sin(radians(pt.lat - seat.lat) / 2), 2)
            + cos(radians(seat.lat)) * cos(radians(pt.lat)) * pow(sin(radians(pt.lon - seat.lon) / 2), 2))), 1)
        END AS distance_km
    FROM stg_etablissement AS e
    LEFT JOIN ref_commune_point AS pt USING (commune_code)
    LEFT JOIN seat ON TRUE
    WHERE e.is_active
),
local_establishment AS (
    SELECT *
    FROM establishment
    WHERE CASE $local_scope
        WHEN 'epci' THEN list_contains($local_epci, epci_siren)
        WHEN 'distance' THEN distance_km <= $local_distance_km
        ELSE departement_code = $home_departement
    END
),
headcount AS (
    SELECT t.code, t.label FROM (VALUES
        ('NN', 'Non employeur'), ('00', '0 salarié'), ('01', '1 ou 2 salariés'), ('02', '3 à 5 salariés'),
        ('03', '6 à 9 salariés'), ('11', '10 à 19 salariés'), ('12', '20 à 49 salariés'),
        ('21', '50 à 99 salariés'), ('22', '100 à 199 salariés'), ('31', '200 à 249 salariés'),
        ('32', '250 à 499 salariés'), ('41', '500 à 999 salariés'), ('42', '1 000 à 1 999 salariés'),
        ('51', '2 000 à 4 999 salariés'), ('52', '5 000 à 9 999 salariés'), ('53', '10 000 salariés et plus')
    ) AS t (code, label)
),
raw_size AS (
    SELECT
        lpad(trim(siret), 14, '0') AS siret,
        any_value(nullif(trim(trancheEffectifsEtablissement), '')) AS tranche
    FROM src_sirene_etablissement
    WHERE siret IS NOT NULL
    GROUP BY 1
),
unit_size AS (
    SELECT
        lpad(trim(siren), 9, '0') AS siren,
        any_value(nullif(trim(trancheEffectifsUniteLegale), '')) AS tranche
    FROM src_sirene_unite_legale
    GROUP BY 1
),
paid AS (
    SELECT
        r.siren,
        eur_sum(p.amount_eur) AS amount_eur,
        max(p.purchase_date) AS last_payment_date
    FROM res_purchase_line_supplier AS r
    JOIN stg_purchase_lines AS p USING (line_id)
    WHERE r.match_status = 'matched'
    GROUP BY r.siren
),
-- A marché de l'inclusion page's slug is built from the name and the place: no page is linked for
-- a non-diffusible unit or establishment, nor when the slug names one (res_text_mask).
siae_page AS (
    SELECT si.siren, si.siret, si.slug
    FROM src_siae AS si
    LEFT JOIN stg_unite_legale AS u ON u.siren = si.siren
    LEFT JOIN stg_etablissement AS e ON e.siret = si.siret
    LEFT JOIN res_private_siren AS ps ON ps.siren = si.siren
    LEFT JOIN res_text_mask AS tm ON tm.text_md5 = md5(si.slug)
    WHERE si.slug IS NOT NULL AND ps.siren IS NULL AND tm.text_md5 IS NULL
        AND NOT coalesce(u.is_non_diffusible, FALSE) AND NOT coalesce(e.is_non_diffusible, FALSE)
),
-- The inclusive lists name establishments: an establishment is inclusive when it is listed, or when
-- its unit is listed by its SIREN alone (cls_line_unit_status applies the same rule to purchases);
-- another establishment of a listed unit (an EPCI's siège, an SAS's ordinary site) is not.
listed_establishment AS (
    SELECT le.siret, string_agg(DISTINCT si.kind, ',' ORDER BY si.kind) AS kinds
    FROM local_establishment AS le
    JOIN src_siae AS si ON si.siren = le.siren AND (si.siret IS NULL OR si.siret = le.siret)
    GROUP BY le.siret
),
units AS (
    SELECT
        le.siret,
        le.siren,
        le.is_siege,
        coalesce(u.is_non_diffusible, FALSE) OR le.is_non_diffusible AS is_non_diffusible,
        coalesce(u.legal_name, u.usual_name_1, u.sigle, 'SIREN ' || le.siren) AS unit_name,
        coalesce(le.usual_name, le.enseigne_1) AS establishment_label,
        s.is_ess, s.ess_family, nullif(s.ess_sources, '') AS ess_sources, nullif(s.evidence, '') AS evidence,
        s.is_esus,
        -- a unit whose main activity is an ESAT's (88.10C) stays inclusive as a whole
        li.siret IS NOT NULL OR coalesce(s.naf = '88.10C', FALSE) AS is_inclusive,
        coalesce(li.kinds, CASE WHEN s.naf = '88.10C' THEN 'ESAT' END) AS siae_kinds,
        coalesce(le.naf, s.naf) AS naf,
        le.commune_code, le.postal_code, le.departement_code, le.epci_siren, le.distance_km,
        coalesce(rs.tranche, us.tranche) AS headcount_code
    FROM local_establishment AS le
    JOIN cls_supplier_status AS s ON s.siren = le.siren AND s.is_active AND (s.is_ess OR s.is_inclusive)
    LEFT JOIN listed_establishment AS li ON li.siret = le.siret
    LEFT JOIN stg_unite_legale AS u ON u.siren = le.siren
    LEFT JOIN raw_size AS rs ON rs.siret = le.siret
    LEFT JOIN unit_size AS us ON us.siren = le.siren
    WHERE s.is_ess OR li.siret IS NOT NULL OR coalesce(s.naf = '88.10C', FALSE)
),
-- The CPV divisions each establishment's activity can serve: a map row applies to the NAF codes
-- it names (81.30Z for green spaces, not 81.21Z cleaning) or to its whole division; the main one
-- is the first row that applies (curated first).
offer AS (
    SELECT
        x.siret,
        m.cpv_division,
        min((m.mapping_priority, m.mapping_rank)) AS mapping_order
    FROM units AS x
    JOIN ref_naf_cpv_all AS m
        ON m.naf_division = left(x.naf, 2)
        AND starts_with(replace(x.naf, '.', ''), replace(m.naf_prefix, '.', ''))
    GROUP BY x.siret, m.cpv_division
),
offer_ranked AS (
    SELECT
        siret,
        cpv_division,
        row_number() OVER (PARTITION BY siret ORDER BY mapping_order, cpv_division) = 1 AS is_primary
    FROM offer
)
SELECT
    x.siret,
    x.siren,
    CASE WHEN x.is_non_diffusible THEN 'Unité non diffusible' ELSE x.unit_name END AS display_name,
    CASE WHEN x.is_non_diffusible THEN NULL ELSE x.establishment_label END AS establishment_name,
    x.is_non_diffusible,
    x.is_siege,
    coalesce(x.is_ess, FALSE) AS is_ess,
    x.ess_family,
    x.ess_sources,
    x.evidence,
    coalesce(x.is_esus, FALSE) AS is_esus,
    coalesce(x.is_inclusive, FALSE) AS is_inclusive,
    x.siae_kinds AS inclusive_kind,
    x.naf,
    n.libelle AS naf_label,
    m.cpv_division,
    d.label AS cpv_label,
    m.is_primary AS is_primary_cpv_division,
    CASE WHEN x.is_non_diffusible THEN NULL ELSE x.commune_code END AS commune_code,
    CASE WHEN x.is_non_diffusible THEN NULL ELSE c.commune_nom END AS commune_name,
    x.departement_code,
    x.epci_siren,
    ep.epci_name,
    x.distance_km,
    x.headcount_code,
    h.label AS headcount_label,
    p.siren IS NOT NULL AS is_current_supplier,
    p.amount_eur AS supplier_amount_eur,
    p.last_payment_date,
    'https://annuaire-entreprises.data.gouv.fr/entreprise/' || x.siren AS annuaire_url,
    CASE WHEN x.siae_kinds IS NOT NULL AND sp.slug IS NOT NULL AND NOT x.is_non_diffusible
        THEN 'https://lemarche.inclusion.beta.gouv.fr/prestataires/' || sp.slug || '/' END AS marche_inclusion_url
FROM units AS x
JOIN offer_ranked AS m ON m.siret = x.siret
LEFT JOIN ref_cpv_division AS d ON d.cpv_division = m.cpv_division
LEFT JOIN ref_naf AS n ON n.naf = x.naf
LEFT JOIN ref_commune AS c ON c.commune_code = x.commune_code
LEFT JOIN ref_epci AS ep ON ep.epci_siren = x.epci_siren
LEFT JOIN headcount AS h ON h.code = x.headcount_code
LEFT JOIN paid AS p ON p.siren = x.siren
LEFT JOIN (SELECT siren, any_value(slug ORDER BY siret) AS slug FROM siae_page GROUP BY siren) AS sp
    ON sp.siren = x.siren
ORDER BY m.cpv_division ASC, x.is_ess DESC, display_name ASC, x.siret ASC;
