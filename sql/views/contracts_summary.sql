CREATE OR REPLACE VIEW contracts_summary AS
SELECT * FROM mart_contracts_summary;
