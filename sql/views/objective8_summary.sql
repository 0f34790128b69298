-- Contract view: Objective 8 figures per quarter, for undated lines ('sans date') and for all periods.
CREATE OR REPLACE VIEW objective8_summary AS
SELECT * FROM mart_objective8_summary;
COMMENT ON VIEW objective8_summary IS 'Objectif 8 : dépense totale, dépense ESS (estimation, intervalle à 90 %, bornes extrêmes), part ESS, montants à vérifier et non rapprochés, par trimestre, pour les lignes sans date (« sans date ») et pour l''ensemble (ALL) : la somme des trimestres et de « sans date » égale ALL.';
COMMENT ON COLUMN objective8_summary.period IS 'Trimestre de la date de paiement (ex. 2025-Q1 ; un paiement de janvier imputé à l''exercice précédent compte au 4e trimestre de cet exercice), « sans date » pour les lignes sans date, ou ALL pour l''ensemble.';
COMMENT ON COLUMN objective8_summary.ess_amount_eur IS 'Estimation centrale : lignes rapprochées ESS à la date + lignes à vérifier ou non rapprochées pondérées par la probabilité que leur fournisseur soit ESS (probabilités des candidats ; marqueur ESS au taux observé).';
COMMENT ON COLUMN objective8_summary.ess_amount_low_eur IS 'Intervalle à 90 %, borne basse : 9 fois sur 10 la dépense ESS est au-dessus, si les probabilités de rapprochement sont justes (tirage de Monte-Carlo du fournisseur de chaque clé incertaine). Ne s''additionne pas d''une période à l''autre.';
COMMENT ON COLUMN objective8_summary.ess_amount_high_eur IS 'Intervalle à 90 %, borne haute : 9 fois sur 10 la dépense ESS est en dessous. Ne s''additionne pas d''une période à l''autre.';
COMMENT ON COLUMN objective8_summary.ess_amount_extreme_low_eur IS 'Borne extrême basse (pire des cas) : seulement les fournisseurs rapprochés avec une preuve ESS valide à la date.';
COMMENT ON COLUMN objective8_summary.ess_amount_extreme_high_eur IS 'Borne extrême haute (pire des cas) : ajoute tout ce qui pourrait être ESS (candidats ESS à vérifier, noms à marqueur ESS).';
COMMENT ON COLUMN objective8_summary.line_count IS 'Lignes acceptées et lignes en quarantaine de la période (les lignes d''un fichier en double ne comptent pas).';
COMMENT ON COLUMN objective8_summary.quarantined_line_count IS 'Lignes mises en quarantaine, lignes de total comprises.';
COMMENT ON COLUMN objective8_summary.quarantined_amount_eur IS 'Montant lisible des lignes en quarantaine (lignes de total comprises), hors dépense totale.';
COMMENT ON COLUMN objective8_summary.duplicate_line_count IS 'Lignes d''un fichier identique à un autre fichier déjà lu : comptées nulle part, signalées ici.';
COMMENT ON COLUMN objective8_summary.duplicate_amount_eur IS 'Montant lisible des lignes d''un fichier en double : compté nulle part.';
