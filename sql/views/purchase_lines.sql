-- Contract view: one row per input data row, `ok`, `quarantined` with its reason, or `duplicate`
-- (a row of a file identical to another file: counted nowhere).
CREATE OR REPLACE VIEW purchase_lines AS
-- Text that would name a non-diffusible unit is masked (res_line_mask); amounts are untouched.
SELECT
    p.line_id, p.source_file, p.source_sheet, p.source_row, p.source_line,
    coalesce(m.supplier_name, p.supplier_name) AS supplier_name, p.siret_raw,
    p.amount_eur, p.purchase_date, p.fiscal_year, p.quarter,
    coalesce(m.category, p.category) AS category,
    coalesce(m.buying_entity, p.buying_entity) AS buying_entity, p.mandate_number,
    p.status, p.quarantine_reason, p.is_duplicate, p.row_kind, p.duplicate_of
FROM stg_purchase_lines AS p
LEFT JOIN res_line_mask AS m USING (line_id);
COMMENT ON VIEW purchase_lines IS 'Une ligne par ligne de données des exports de paiement, jamais moins : acceptée (ok), mise en quarantaine avec sa raison, ou en double (fichier identique à un autre, comptée nulle part).';
COMMENT ON COLUMN purchase_lines.supplier_name IS 'Fournisseur tel que saisi ; « unité non diffusible (SIREN …) » si la ligne est rapprochée (ou proposée) d''une unité non diffusible ou si le texte contient son nom.';
COMMENT ON COLUMN purchase_lines.line_id IS 'Identifiant stable de la ligne (empreinte du fichier, du contenu et du rang parmi les lignes identiques).';
COMMENT ON COLUMN purchase_lines.source_file IS 'Fichier d''origine, relatif au dossier de données.';
COMMENT ON COLUMN purchase_lines.source_row IS 'Rang de la ligne de données dans le fichier (1 = première ligne après l''en-tête).';
COMMENT ON COLUMN purchase_lines.amount_eur IS 'Montant en euros tel que payé ; négatif pour un avoir.';
COMMENT ON COLUMN purchase_lines.quarter IS 'Trimestre de la date de paiement, ex. 2025-Q1 ; NULL sans date.';
COMMENT ON COLUMN purchase_lines.status IS 'ok, quarantined, ou duplicate (ligne d''un fichier identique à un autre : comptée nulle part).';
COMMENT ON COLUMN purchase_lines.quarantine_reason IS 'Raison en français : fichier, ligne et champ en cause.';
COMMENT ON COLUMN purchase_lines.is_duplicate IS 'Ligne identique à une ligne précédente du même fichier (signalée, pas retirée).';
COMMENT ON COLUMN purchase_lines.row_kind IS 'Nature de la ligne : data (donnée), total (ligne de total du fichier, mise en quarantaine), blank (vide) ou header (en-tête répété).';
COMMENT ON COLUMN purchase_lines.duplicate_of IS 'Pour une ligne duplicate : le fichier dont ce fichier est la copie.';
