-- Contract view: one row per input data row, `ok` or `quarantined` with its reason.
CREATE OR REPLACE VIEW purchase_lines AS
SELECT
    line_id, source_file, source_sheet, source_row, source_line, supplier_name, siret_raw,
    amount_eur, purchase_date, fiscal_year, quarter, category, buying_entity, mandate_number,
    status, quarantine_reason, is_duplicate
FROM stg_purchase_lines;
COMMENT ON VIEW purchase_lines IS 'Une ligne par ligne de données des exports de paiement, jamais moins : acceptée (ok) ou mise en quarantaine avec sa raison.';
COMMENT ON COLUMN purchase_lines.line_id IS 'Identifiant stable de la ligne (empreinte du fichier, du contenu et du rang parmi les lignes identiques).';
COMMENT ON COLUMN purchase_lines.source_file IS 'Fichier d''origine, relatif au dossier de données.';
COMMENT ON COLUMN purchase_lines.source_row IS 'Rang de la ligne de données dans le fichier (1 = première ligne après l''en-tête).';
COMMENT ON COLUMN purchase_lines.amount_eur IS 'Montant en euros tel que payé ; négatif pour un avoir.';
COMMENT ON COLUMN purchase_lines.quarter IS 'Trimestre de la date de paiement, ex. 2025-Q1 ; NULL sans date.';
COMMENT ON COLUMN purchase_lines.status IS 'ok ou quarantined.';
COMMENT ON COLUMN purchase_lines.quarantine_reason IS 'Raison en français : fichier, ligne et champ en cause.';
COMMENT ON COLUMN purchase_lines.is_duplicate IS 'Ligne identique à une ligne précédente du même fichier (signalée, pas retirée).';
