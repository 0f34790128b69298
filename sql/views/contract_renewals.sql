-- Contract view: the buyer's marchés with their estimated end and the local offer for their CPV division.
CREATE OR REPLACE VIEW contract_renewals AS
SELECT * FROM mart_contract_renewals;
