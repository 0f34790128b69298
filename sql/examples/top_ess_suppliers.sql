-- Les 20 premiers fournisseurs ESS et la preuve de leur statut (noms masqués si non diffusibles).
SELECT siren, display_name, ess_family, evidence, round(matched_amount_eur) AS montant_eur
FROM suppliers
WHERE is_ess
ORDER BY matched_amount_eur DESC
LIMIT 20;
