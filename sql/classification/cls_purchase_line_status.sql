-- Status of each resolved line's supplier at the line's own date: an ESUS agreement counts
-- only inside its window, a unit ceased before the date is not an active ESS supplier, and when
-- the SIRENE history is provided the legal form and INSEE flag are those valid at that date; a
-- credit note takes the date of the payment it reverses (cls_line_unit_status).
CREATE OR REPLACE TABLE cls_purchase_line_status AS
SELECT
    s.line_id,
    s.siren,
    s.status_line_id,
    s.status_date,
    s.is_known_unit,
    s.is_active_at_date,
    s.is_esus_at_date,
    s.is_ess_at_date,
    s.is_inclusive_at_date,
    s.ess_family,
    s.ess_basis
FROM res_purchase_line_supplier AS r
JOIN cls_line_unit_status AS s ON s.line_id = r.line_id AND s.siren = r.siren;
