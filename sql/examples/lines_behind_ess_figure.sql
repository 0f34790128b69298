-- Traçabilité : les lignes qui composent la dépense ESS du dernier trimestre daté. Sommées, leurs
-- parts redonnent les chiffres de ce trimestre dans objective8_summary : ess_point_eur
-- l'estimation (ess_amount_eur), ess_low_eur et ess_high_eur les bornes extrêmes
-- (ess_amount_extreme_low_eur, ess_amount_extreme_high_eur). L'intervalle à 90 %
-- (ess_amount_low_eur, ess_amount_high_eur) vient d'un tirage, il n'est la somme d'aucune colonne.
WITH last_quarter AS (
    SELECT max(period) AS quarter
    FROM objective8_summary
    WHERE period NOT IN ('ALL', 'sans date')
)

SELECT
    p.source_file,
    p.source_line,
    p.purchase_date,
    p.amount_eur,
    r.match_status,
    r.siren,
    s.display_name,
    r.ess_basis_at_line_date,
    r.ess_low_eur,
    r.ess_point_eur,
    r.ess_high_eur
FROM purchase_lines AS p
INNER JOIN purchase_lines_resolved AS r USING (line_id)
LEFT JOIN suppliers AS s USING (siren)
WHERE
    p.quarter = (SELECT lq.quarter FROM last_quarter AS lq)
    AND (r.ess_low_eur <> 0 OR r.ess_point_eur <> 0 OR r.ess_high_eur <> 0)
ORDER BY r.ess_point_eur DESC, p.source_file ASC, p.source_line ASC;
