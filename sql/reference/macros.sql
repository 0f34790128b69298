-- Sums of euros in exact decimal arithmetic, so that reruns give identical figures whatever the
-- order in which DuckDB's threads add the lines.
CREATE OR REPLACE MACRO eur_sum(x) AS round(sum(x::DECIMAL(24, 6)), 2)::DOUBLE;
