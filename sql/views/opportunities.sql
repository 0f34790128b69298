CREATE OR REPLACE VIEW opportunities AS
SELECT * FROM mart_opportunities ORDER BY rank;
COMMENT ON VIEW opportunities IS 'Pistes : catégories où l''acheteur dépense beaucoup, achète peu à l''ESS et où une offre locale existe. Pistes pour les acheteurs, pas un avis juridique.';
