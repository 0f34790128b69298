-- Catégories (division CPV) où une offre ESS ou inclusive locale existe, classées par dépense hors
-- ESS : là où acheter davantage à l'ESS est possible. part_ess_pct est la part rapprochée ESS à la
-- date de la ligne (buyer_ess_amount_eur, comme le tableau de bord par catégorie), pas l'estimation.
SELECT cpv_division, cpv_label, round(buyer_amount_eur) AS depense_eur,
       round(100 * buyer_ess_amount_eur / nullif(buyer_amount_eur, 0), 1) AS part_ess_pct,
       local_ess_supplier_count, local_inclusive_supplier_count, inclusion_sector_groups
FROM ess_offer_by_category
WHERE buyer_amount_eur > 0 AND local_ess_supplier_count + local_inclusive_supplier_count > 0
ORDER BY buyer_amount_eur - buyer_ess_amount_eur DESC;
