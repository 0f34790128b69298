-- Contract view: Objective 8 figures per quarter and for all periods.
CREATE OR REPLACE VIEW objective8_summary AS
SELECT * FROM mart_objective8_summary;
COMMENT ON VIEW objective8_summary IS 'Objectif 8 : dépense totale, dépense ESS (estimation, borne basse, borne haute), part ESS, montants à vérifier et non rapprochés, par trimestre et pour l''ensemble (ALL).';
COMMENT ON COLUMN objective8_summary.ess_amount_eur IS 'Estimation centrale : lignes ESS certaines + lignes à vérifier pondérées par les scores + lignes non rapprochées à marqueur ESS pondérées par le taux observé.';
COMMENT ON COLUMN objective8_summary.ess_amount_low_eur IS 'Borne basse : seulement les fournisseurs rapprochés avec une preuve ESS valide à la date.';
COMMENT ON COLUMN objective8_summary.ess_amount_high_eur IS 'Borne haute : ajoute tout ce qui pourrait être ESS (candidats ESS à vérifier, noms à marqueur ESS).';
COMMENT ON COLUMN objective8_summary.quarantined_line_count IS 'Lignes mises en quarantaine (hors totaux).';
