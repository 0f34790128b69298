-- Contract view: the named local ESS and inclusive offer, per establishment and CPV division.
CREATE OR REPLACE VIEW ess_sourcing AS
SELECT * FROM mart_ess_sourcing;
COMMENT ON VIEW ess_sourcing IS 'Offre ESS et inclusive locale nommée : un établissement actif d''une structure ESS ou inclusive du territoire (département de l''acheteur par défaut, ou EPCI, ou distance du siège : [local] dans achats.toml) × une division CPV que son activité (NAF) peut servir. Nom et commune masqués pour les unités non diffusibles.';
COMMENT ON COLUMN ess_sourcing.display_name IS 'Nom de l''unité légale ; « Unité non diffusible » si statutDiffusion = P.';
COMMENT ON COLUMN ess_sourcing.establishment_name IS 'Enseigne ou nom usuel de l''établissement (masqué si non diffusible).';
COMMENT ON COLUMN ess_sourcing.inclusive_kind IS 'Types de structure inclusive (EI, ETTI, AI, ACI, EITI, GEIQ, EA, ESAT).';
COMMENT ON COLUMN ess_sourcing.is_primary_cpv_division IS 'Vrai si c''est la division CPV principale de son code NAF.';
COMMENT ON COLUMN ess_sourcing.distance_km IS 'Distance au siège de l''acheteur (seulement quand perimetre = "distance").';
COMMENT ON COLUMN ess_sourcing.headcount_code IS 'Tranche d''effectif salarié INSEE de l''établissement, sinon de l''unité.';
COMMENT ON COLUMN ess_sourcing.is_current_supplier IS 'Déjà fournisseur de l''acheteur (au moins une ligne rapprochée).';
COMMENT ON COLUMN ess_sourcing.supplier_amount_eur IS 'Montant payé par l''acheteur à cette unité, toutes périodes.';
COMMENT ON COLUMN ess_sourcing.last_payment_date IS 'Date du dernier paiement de l''acheteur à cette unité.';
COMMENT ON COLUMN ess_sourcing.annuaire_url IS 'Page de l''unité dans l''Annuaire des entreprises.';
COMMENT ON COLUMN ess_sourcing.marche_inclusion_url IS 'Page de la structure sur le marché de l''inclusion, quand son identifiant (slug) est connu.';
