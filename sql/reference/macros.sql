-- Sums of euros in exact decimal arithmetic, published as DECIMAL(18, 2) like every euro column
-- (DuckDB widens a sum of DECIMAL(18, 2) to DECIMAL(38, 2)); a DOUBLE input is rounded to the cent.
CREATE OR REPLACE MACRO eur_sum(X) AS sum(x::DECIMAL(18, 2))::DECIMAL(18, 2);
