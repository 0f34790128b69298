-- Each `ok` purchase line with the supplier decision taken for its supplier key.
CREATE OR REPLACE TABLE res_purchase_line_supplier AS
SELECT
    k.line_id,
    k.supplier_key,
    m.siren,
    m.siret,
    m.match_method,
    m.match_score,
    m.match_status,
    m.margin,
    m.reason AS match_reason,
    m.id_flag,
    m.has_ess_marker
FROM res_line_supplier_key AS k
JOIN res_supplier_match AS m USING (supplier_key);
