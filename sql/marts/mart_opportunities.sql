-- Categories where the buyer spends a lot, buys little from ESS, and local offer exists.
-- Leads for buyers, not legal advice: the lever names the article that may apply.
CREATE OR REPLACE TABLE mart_opportunities AS
SELECT
    cpv_division,
    cpv_label,
    buyer_amount_eur,
    buyer_ess_amount_eur,
    buyer_ess_amount_eur / nullif(buyer_amount_eur, 0) AS ess_share,
    local_ess_supplier_count,
    local_inclusive_supplier_count,
    (buyer_amount_eur - buyer_ess_amount_eur)::DECIMAL(18, 2) AS non_ess_amount_eur,
    concat_ws(' ; ',
        CASE WHEN local_inclusive_supplier_count > 0
            THEN 'Marché réservé aux SIAE (L2113-13) ou aux EA/ESAT (L2113-12)' END,
        CASE WHEN cpv_division IN ('75', '79', '80', '85', '92', '98') AND local_ess_supplier_count > 0
            THEN 'Réservation aux entreprises de l''ESS pour certains services sociaux, de santé ou culturels '
                || '(L2113-15), selon les codes CPV de l''annexe'
            END,
        'Clause sociale d''exécution (L2112-2)',
        'Critère social d''attribution (R2152-7)'
    ) AS legal_levers,
    'Piste pour les acheteurs, pas un avis juridique' AS disclaimer,
    row_number() OVER (ORDER BY (buyer_amount_eur - buyer_ess_amount_eur)
        * ln(1 + local_ess_supplier_count + local_inclusive_supplier_count) DESC, cpv_division) AS rank
FROM mart_ess_offer_by_category
WHERE buyer_amount_eur > 0
    AND local_ess_supplier_count + local_inclusive_supplier_count > 0
    AND coalesce(buyer_ess_amount_eur / nullif(buyer_amount_eur, 0), 0) < 0.5;
