-- Contract view: the named local ESS and inclusive offer, per establishment and CPV division.
CREATE OR REPLACE VIEW ess_sourcing AS
SELECT * FROM mart_ess_sourcing;
