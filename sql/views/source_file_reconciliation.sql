-- Contract view: each payment file (and sheet) reconciled with what the reader made of it: every
-- data row is accepted, quarantined or a duplicate, and the file's own grand total is compared
-- with the amounts read from its rows (ok and quarantined readable amounts, total rows excluded;
-- for a file that copies another one, its duplicate rows' amounts).
CREATE OR REPLACE VIEW source_file_reconciliation AS
WITH lines AS (
    SELECT
        source_file,
        coalesce(source_sheet, '') AS sheet_key,
        count(*) AS line_count,
        count(*) FILTER (WHERE status = 'ok') AS accepted_line_count,
        eur_sum(CASE WHEN status = 'ok' THEN amount_eur END) AS accepted_amount_eur,
        count(*) FILTER (WHERE status = 'quarantined') AS quarantined_line_count,
        eur_sum(CASE WHEN status = 'quarantined' AND row_kind IS DISTINCT FROM 'total' THEN amount_eur END)
            AS quarantined_amount_eur,
        count(*) FILTER (WHERE row_kind = 'total') AS total_row_count,
        count(*) FILTER (WHERE status = 'duplicate') AS duplicate_line_count,
        eur_sum(CASE WHEN status = 'duplicate' AND row_kind IS DISTINCT FROM 'total' THEN amount_eur END)
            AS duplicate_amount_eur,
        count(*) FILTER (WHERE is_duplicate) AS repeated_line_count,
        eur_sum(CASE WHEN row_kind IS DISTINCT FROM 'total' THEN amount_eur END) AS rows_amount_eur
    FROM src_purchase_lines
    GROUP BY ALL
),
joined AS (
    SELECT
        f.source_file,
        f.source_sheet,
        f.data_row_count,
        coalesce(l.line_count, 0) AS line_count,
        coalesce(l.accepted_line_count, 0) AS accepted_line_count,
        coalesce(l.accepted_amount_eur, 0) AS accepted_amount_eur,
        coalesce(l.quarantined_line_count, 0) AS quarantined_line_count,
        coalesce(l.quarantined_amount_eur, 0) AS quarantined_amount_eur,
        coalesce(l.total_row_count, 0) AS total_row_count,
        coalesce(l.duplicate_line_count, 0) AS duplicate_line_count,
        coalesce(l.duplicate_amount_eur, 0) AS duplicate_amount_eur,
        coalesce(l.repeated_line_count, 0) AS repeated_line_count,
        f.declared_total_eur,
        f.declared_total_row,
        coalesce(l.rows_amount_eur, 0) AS expected_total_eur,
        f.duplicate_of
    FROM src_purchase_files AS f
    LEFT JOIN lines AS l ON l.source_file = f.source_file AND l.sheet_key = coalesce(f.source_sheet, '')
)
SELECT
    *,
    round(expected_total_eur - declared_total_eur, 2) AS total_difference_eur,
    CASE WHEN declared_total_eur IS NOT NULL
        THEN abs(round(expected_total_eur - declared_total_eur, 2)) < 0.005 END AS total_matches,
    accepted_line_count + quarantined_line_count + duplicate_line_count = data_row_count AS rows_reconcile
FROM joined
ORDER BY source_file, source_sheet;
COMMENT ON VIEW source_file_reconciliation IS 'Rapprochement de chaque fichier d''achats (et feuille) avec sa lecture : lignes acceptées, en quarantaine et en double doivent faire toutes les lignes de données ; le total déclaré par le fichier est comparé à la somme des montants lus.';
COMMENT ON COLUMN source_file_reconciliation.source_file IS 'Fichier d''origine, relatif au dossier de données.';
COMMENT ON COLUMN source_file_reconciliation.source_sheet IS 'Feuille du classeur Excel (NULL pour un CSV).';
COMMENT ON COLUMN source_file_reconciliation.data_row_count IS 'Lignes de données du fichier après l''en-tête, quel que soit leur statut (compte du lecteur).';
COMMENT ON COLUMN source_file_reconciliation.line_count IS 'Lignes de ce fichier présentes dans purchase_lines.';
COMMENT ON COLUMN source_file_reconciliation.accepted_line_count IS 'Lignes acceptées (ok), comptées dans les chiffres.';
COMMENT ON COLUMN source_file_reconciliation.accepted_amount_eur IS 'Montant des lignes acceptées (€).';
COMMENT ON COLUMN source_file_reconciliation.quarantined_line_count IS 'Lignes mises en quarantaine, lignes de total comprises.';
COMMENT ON COLUMN source_file_reconciliation.quarantined_amount_eur IS 'Montant lisible des lignes en quarantaine, hors lignes de total (€) ; un montant illisible ne compte pas.';
COMMENT ON COLUMN source_file_reconciliation.total_row_count IS 'Lignes de total du fichier (mises en quarantaine, jamais comptées).';
COMMENT ON COLUMN source_file_reconciliation.duplicate_line_count IS 'Lignes d''un fichier identique à un autre fichier déjà lu : comptées nulle part.';
COMMENT ON COLUMN source_file_reconciliation.duplicate_amount_eur IS 'Montant lisible des lignes en double, hors lignes de total (€).';
COMMENT ON COLUMN source_file_reconciliation.repeated_line_count IS 'Lignes répétées à l''identique dans le même fichier : signalées, mais comptées.';
COMMENT ON COLUMN source_file_reconciliation.declared_total_eur IS 'Total général écrit dans le fichier lui-même (sa ligne de total) ; NULL sans ligne de total.';
COMMENT ON COLUMN source_file_reconciliation.declared_total_row IS 'Rang de la ligne de total dans le fichier (1 = première ligne après l''en-tête).';
COMMENT ON COLUMN source_file_reconciliation.expected_total_eur IS 'Somme que le total déclaré doit égaler : montants lisibles des lignes acceptées, en quarantaine et en double, hors lignes de total (€).';
COMMENT ON COLUMN source_file_reconciliation.duplicate_of IS 'Fichier dont ce fichier est la copie exacte (ses lignes ne comptent pas) ; NULL sinon.';
COMMENT ON COLUMN source_file_reconciliation.total_difference_eur IS 'Somme lue moins total déclaré, au centime (€) ; NULL sans total déclaré.';
COMMENT ON COLUMN source_file_reconciliation.total_matches IS 'Vrai si la somme lue égale le total déclaré au centime près ; NULL sans total déclaré.';
COMMENT ON COLUMN source_file_reconciliation.rows_reconcile IS 'Vrai si lignes acceptées + en quarantaine + en double = lignes de données du fichier.';
