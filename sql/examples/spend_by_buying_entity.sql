-- Dépense et dépense ESS estimée (ess_point_eur, somme : ess_amount_eur) par direction acheteuse.
SELECT
    coalesce(p.buying_entity, 'Non renseignée') AS direction,
    round(sum(p.amount_eur)) AS depense_eur,
    round(sum(r.ess_point_eur)) AS depense_ess_eur,
    round(100 * sum(r.ess_point_eur) / nullif(sum(p.amount_eur), 0), 1) AS part_ess_pct
FROM purchase_lines AS p
JOIN purchase_lines_resolved AS r USING (line_id)
GROUP BY 1
ORDER BY depense_eur DESC;
