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
    ) AS is_endowment_fund
FROM src_sirene_unite_legale
WHERE siren IS NOT NULL;
