-- Part ESS par trimestre (et « sans date »), avec son intervalle à 90 % : objective8_summary arrondi.
SELECT
    period AS trimestre,
    round(total_amount_eur) AS depense_totale_eur,
    round(ess_amount_eur) AS depense_ess_eur,
    round(100 * ess_share, 1) AS part_ess_pct,
    round(100 * ess_share_low, 1) AS part_basse_pct,
    round(100 * ess_share_high, 1) AS part_haute_pct
FROM objective8_summary
WHERE period <> 'ALL'
ORDER BY period;
