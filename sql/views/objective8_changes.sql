-- This run against the previous one, period by period, and the inputs that changed in between.
CREATE OR REPLACE VIEW objective8_changes AS
WITH ranked AS (
    SELECT run_id, changed_inputs, row_number() OVER (ORDER BY run_at DESC, run_id ASC) AS rn FROM hist_runs
),
cur AS (SELECT h.* FROM hist_objective8 AS h JOIN ranked AS r ON r.run_id = h.run_id AND r.rn = 1),
prev AS (SELECT h.* FROM hist_objective8 AS h JOIN ranked AS r ON r.run_id = h.run_id AND r.rn = 2)
SELECT
    cur.period,
    prev.ess_amount_eur::DECIMAL(18, 2) AS previous_ess_amount_eur,
    cur.ess_amount_eur::DECIMAL(18, 2) AS ess_amount_eur,
    (cur.ess_amount_eur - prev.ess_amount_eur)::DECIMAL(18, 2) AS ess_amount_change_eur,
    prev.ess_share AS previous_ess_share,
    cur.ess_share,
    cur.ess_share - prev.ess_share AS ess_share_change,
    (cur.total_amount_eur - prev.total_amount_eur)::DECIMAL(18, 2) AS total_amount_change_eur,
    (SELECT changed_inputs FROM ranked WHERE rn = 1) AS changed_inputs
FROM cur
LEFT JOIN prev USING (period)
ORDER BY cur.period = 'ALL', cur.period;
