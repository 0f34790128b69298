-- Où une heure de vérification rapporte le plus : fournisseurs à vérifier ou non rapprochés, par montant.
SELECT
    r.match_status,
    count(*) AS lignes,
    round(sum(p.amount_eur)) AS montant_eur,
    any_value(r.match_reason) AS motif,
    any_value(p.supplier_name) AS fournisseur_saisi
FROM purchase_lines_resolved AS r
JOIN purchase_lines AS p USING (line_id)
WHERE r.match_status <> 'matched'
GROUP BY r.match_status, lower(p.supplier_name)
ORDER BY abs(sum(p.amount_eur)) DESC
LIMIT 25;
