-- Les 20 premiers fournisseurs ESS : leur dépense ESS comptée, c'est-à-dire leurs lignes
-- rapprochées et ESS à la date du paiement (comme le tableau de bord et le bilan), et le fondement
-- de leur statut à ces dates (noms masqués si non diffusibles). Sans la limite, les montants
-- s'additionnent en objective8_summary.matched_ess_amount_eur (période ALL) et les fournisseurs
-- sont ess_supplier_count. Un fournisseur ESS aujourd'hui mais pas à la date de ses paiements n'y
-- est pas ; l'estimation publiée (ess_amount_eur) y ajoute la part probable des lignes à vérifier.
SELECT
    r.siren,
    any_value(s.display_name) AS display_name,
    string_agg(DISTINCT r.ess_family, ', ' ORDER BY r.ess_family) AS ess_family,
    string_agg(DISTINCT r.ess_basis_at_line_date, ' | ' ORDER BY r.ess_basis_at_line_date) AS evidence,
    count(*) AS line_count,
    sum(p.amount_eur) AS ess_amount_eur
FROM purchase_lines_resolved AS r
INNER JOIN purchase_lines AS p USING (line_id)
LEFT JOIN suppliers AS s USING (siren)
WHERE r.match_status = 'matched' AND r.is_ess_at_line_date
GROUP BY r.siren
ORDER BY ess_amount_eur DESC, r.siren ASC
LIMIT 20;
