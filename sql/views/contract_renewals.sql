-- Contract view: the buyer's marchés with their estimated end and the local offer for their CPV division.
CREATE OR REPLACE VIEW contract_renewals AS
SELECT * FROM mart_contract_renewals;
COMMENT ON VIEW contract_renewals IS 'Marchés de l''acheteur (DECP) avec leur fin estimée (notification + durée, modifications comprises), ceux qui arrivent à échéance dans la fenêtre de renouvellement ([renouvellements] fenetre_mois, 6 à 24 mois après la date de référence par défaut), les considérations sociales déjà utilisées, l''offre ESS et inclusive locale de leur division CPV et les leviers possibles. Pistes pour les acheteurs, pas un avis juridique.';
COMMENT ON COLUMN contract_renewals.estimated_end_date IS 'Date de notification + durée en mois (la dernière durée modifiée si une modification l''a changée) ; NULL si l''une manque.';
COMMENT ON COLUMN contract_renewals.months_to_end IS 'Mois entre la date de référence et la fin estimée.';
COMMENT ON COLUMN contract_renewals.renewal_status IS 'terminé | fin proche (avant la fenêtre) | à préparer (dans la fenêtre) | plus tard | fin inconnue';
COMMENT ON COLUMN contract_renewals.is_in_renewal_window IS 'Fin estimée dans la fenêtre de renouvellement.';
COMMENT ON COLUMN contract_renewals.titulaires IS 'Titulaires (nom SIRENE si connu ; « Unité non diffusible » si statutDiffusion = P).';
COMMENT ON COLUMN contract_renewals.social_considerations IS 'Considérations sociales déclarées dans les DECP (NULL : le format v1 ne le dit pas).';
COMMENT ON COLUMN contract_renewals.has_social_clause IS 'Clause sociale déclarée (NULL : inconnu).';
COMMENT ON COLUMN contract_renewals.has_social_criterion IS 'Critère social déclaré (NULL : inconnu).';
COMMENT ON COLUMN contract_renewals.is_reserved IS 'Marché réservé déclaré (NULL : inconnu).';
COMMENT ON COLUMN contract_renewals.local_ess_structure_count IS 'Unités ESS locales (ess_sourcing) capables de répondre dans cette division CPV.';
COMMENT ON COLUMN contract_renewals.local_inclusive_structure_count IS 'Structures inclusives locales (ess_sourcing) dans cette division CPV.';
COMMENT ON COLUMN contract_renewals.untapped_structure_count IS 'Dont structures qui ne sont pas encore fournisseurs de l''acheteur.';
COMMENT ON COLUMN contract_renewals.legal_levers IS 'Leviers qui pourraient s''appliquer : pistes, pas un avis juridique.';
