CREATE OR REPLACE VIEW opportunities AS
SELECT * FROM mart_opportunities ORDER BY rank;
