-- Traçabilité : les lignes qui composent la borne basse ESS du dernier trimestre.
WITH last_quarter AS (SELECT max(period) AS q FROM objective8_summary WHERE period NOT IN ('ALL', 'sans date'))
SELECT p.source_file, p.source_row, p.purchase_date, p.amount_eur, r.siren, s.display_name, s.evidence
FROM purchase_lines AS p
JOIN purchase_lines_resolved AS r USING (line_id)
LEFT JOIN suppliers AS s USING (siren)
WHERE p.quarter = (SELECT q FROM last_quarter) AND r.match_status = 'matched' AND r.is_ess_at_line_date
ORDER BY p.amount_eur DESC;
