CREATE OR REPLACE VIEW contracts_summary AS
SELECT * FROM mart_contracts_summary;
COMMENT ON VIEW contracts_summary IS 'Marchés notifiés (DECP), à part des montants payés : par année de notification, « sans date » et ensemble (ALL, somme des périodes). Chaque marché compte une fois ; seuls les montants plausibles sont additionnés ; concessions à part.';
COMMENT ON COLUMN contracts_summary.period IS 'Année de notification, « sans date » (date absente ou illisible) ou ALL (toutes périodes).';
COMMENT ON COLUMN contracts_summary.contract_count IS 'Nombre de marchés (hors concessions, hors quarantaine), republications et versions antérieures comptées une fois.';
COMMENT ON COLUMN contracts_summary.notified_amount_eur IS 'Somme des montants initiaux notifiés des marchés au montant plausible (montants inconnus exclus, voir unknown_amount_contract_count).';
COMMENT ON COLUMN contracts_summary.amount_after_modifications_eur IS 'Somme des montants après la dernière modification (avenant) ; montant initial à défaut de modification.';
COMMENT ON COLUMN contracts_summary.social_consideration_amount_eur IS 'Montant notifié des marchés avec au moins une considération sociale.';
COMMENT ON COLUMN contracts_summary.ess_titulaire_amount_eur IS 'Montant notifié attribué à des titulaires ESS (montant partagé à parts égales entre cotitulaires, au centime).';
COMMENT ON COLUMN contracts_summary.inclusive_titulaire_amount_eur IS 'Montant notifié attribué à des titulaires inclusifs (SIAE, EA, ESAT), partagé entre cotitulaires.';
COMMENT ON COLUMN contracts_summary.social_consideration_share IS 'Part du montant notifié avec une considération sociale (0-1).';
COMMENT ON COLUMN contracts_summary.ess_titulaire_share IS 'Part du montant notifié attribuée à des titulaires ESS (0-1).';
COMMENT ON COLUMN contracts_summary.unknown_amount_contract_count IS 'Marchés comptés mais au montant inconnu (absent, illisible, nul, négatif, non fini, fictif 999…, au-delà du plafond) : jamais additionnés.';
COMMENT ON COLUMN contracts_summary.undated_contract_count IS 'Marchés sans date de notification lisible (comptés dans « sans date » et ALL).';
COMMENT ON COLUMN contracts_summary.quarantined_contract_count IS 'Enregistrements inutilisables (pas un objet, sans acheteur) mis en quarantaine : hors de tous les totaux.';
COMMENT ON COLUMN contracts_summary.concession_count IS 'Nombre de contrats de concession (comptés à part des marchés).';
COMMENT ON COLUMN contracts_summary.concession_amount_eur IS 'Somme des valeurs globales plausibles des concessions (à part du montant notifié des marchés).';
COMMENT ON COLUMN contracts_summary.concession_unknown_amount_count IS 'Concessions à la valeur globale inconnue (non additionnées).';
