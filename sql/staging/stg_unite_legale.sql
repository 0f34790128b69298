-- One row per SIREN: names, legal form, activity and state, with the privacy flag. A unit
-- refreshed through the INSEE API (a file named StockUniteLegale_maj*) wins over the stock: the
-- loader keeps each SIREN from one file only (achats.sources.sirene).
CREATE OR REPLACE TABLE stg_unite_legale AS
SELECT
    lpad(trim(siren), 9, '0') AS siren,
    coalesce(statutDiffusionUniteLegale, 'O') IN ('P', 'N') AS is_non_diffusible,  -- N: former value, masked too
    coalesce(
        nullif(trim(denominationUniteLegale), ''),
        nullif(trim(concat_ws(' ', prenom1UniteLegale, coalesce(nomUsageUniteLegale, nomUniteLegale))), '')
    ) AS legal_name,
    nullif(trim(sigleUniteLegale), '') AS sigle,
    nullif(trim(denominationUsuelle1UniteLegale), '') AS usual_name_1,
    nullif(trim(denominationUsuelle2UniteLegale), '') AS usual_name_2,
    nullif(trim(denominationUsuelle3UniteLegale), '') AS usual_name_3,
    nullif(trim(categorieJuridiqueUniteLegale), '') AS categorie_juridique,
    nullif(trim(activitePrincipaleUniteLegale), '') AS naf,
    coalesce(etatAdministratifUniteLegale, 'A') <> 'C' AS is_active,
    CASE WHEN etatAdministratifUniteLegale = 'C' THEN try_cast(dateDebut AS DATE) END AS ceased_date,
    nullif(trim(economieSocialeSolidaireUniteLegale), '') AS insee_ess_flag,
    coalesce(societeMissionUniteLegale = 'O', FALSE) AS is_societe_mission,
    nullif(trim(nicSiegeUniteLegale), '') AS nic_siege,
    try_cast(dateCreationUniteLegale AS DATE) AS creation_date,
    -- INSEE files a fonds de dotation (loi n° 2008-776, art. 140) under 9300 « Fondation », yet the loi
    -- n° 2014-856 (art. 1) lists fondations, not fonds de dotation: a 9300 unit whose names say FONDS,
    -- DOTATION or FDD and never FONDATION (a word the law reserves to fondations: loi n° 87-571,
    -- art. 20) is no fondation by statute (ESS only through another proof). The phrase « fonds de
    -- dotation » (or FDD) decides alone: a fondation is never called so, while a fonds created by or
    -- for a fondation often names it (« FONDS DE DOTATION DE LA FONDATION X »); FONDS or DOTATION
    -- alone yields to FONDATION (« FONDATION DU FONDS MONDIAL … » is a fondation)
    coalesce(
        nullif(trim(categorieJuridiqueUniteLegale), '') = '9300'
        AND (
            regexp_matches(
                ' ' || regexp_replace(upper(strip_accents(concat_ws(' ', denominationUniteLegale, sigleUniteLegale,
                    denominationUsuelle1UniteLegale, denominationUsuelle2UniteLegale,
                    denominationUsuelle3UniteLegale))),
                    '[^A-Z0-9]+', ' ', 'g') || ' ',
                ' (FONDS (DE |D )?DOTATION|FDD) '
            )
            OR regexp_matches(
                ' ' || regexp_replace(upper(strip_accents(concat_ws(' ', denominationUniteLegale, sigleUniteLegale,
                    denominationUsuelle1UniteLegale, denominationUsuelle2UniteLegale,
                    denominationUsuelle3UniteLegale))),
                    '[^A-Z0-9]+', ' ', 'g') || ' ',
                ' (FONDS|DOTATION) '
            )
            AND NOT regexp_matches(
                ' ' || regexp_replace(upper(strip_accents(concat_ws(' ', denominationUniteLegale, sigleUniteLegale,
                    denominationUsuelle1UniteLegale, denominationUsuelle2UniteLegale,
                    denominationUsuelle3UniteLegale))),
                    '[^A-Z0-9]+', ' ', 'g') || ' ',
                ' FONDATIONS? '
            )
        ),
        FALSE
    ) AS is_endowment_fund,
    -- A coopérative registered under a plain company form (a SCOP or SCIC SAS is coded 5710, a SCOP
    -- SARL sometimes 5499) is ESS by statute all the same (loi n° 2014-856, art. 1, II, 1°: the form
    -- of coopérative, whatever the commercial form). Its legal name or sigle then says so with a term
    -- the law reserves to coopératives: SCOP (loi n° 78-763), SCIC (loi n° 47-1775, titre II ter),
    -- « société coopérative », or « coopérative d'activité et d'emploi » (a CAE is a SCOP or a SCIC,
    -- loi n° 78-763, titre III bis). « COOP » or « COOPERATIVE » alone is no such proof (a shop or a
    -- bar may be called so).
    coalesce(
        nullif(trim(categorieJuridiqueUniteLegale), '') LIKE '5%'
        AND regexp_matches(
            ' ' || regexp_replace(upper(strip_accents(concat_ws(' ', denominationUniteLegale, sigleUniteLegale))),
                '[^A-Z0-9]+', ' ', 'g') || ' ',
            ' (SCOP|SCIC|S C O P|S C I C|SOCIETE COOPERATIVE|COOPERATIVES? D ACTIVITES? ET D EMPLOI) '
        ),
        FALSE
    ) AS has_cooperative_name
FROM src_sirene_unite_legale
WHERE siren IS NOT NULL;
