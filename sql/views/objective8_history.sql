-- Every run's figures with the fingerprint of its inputs, to reproduce a published figure.
CREATE OR REPLACE VIEW objective8_history AS
SELECT r.run_id, r.run_at, r.code_version, r.inputs_fingerprint, r.overrides_fingerprint, r.changed_inputs,
       h.* EXCLUDE (run_id)
FROM hist_runs AS r
JOIN hist_objective8 AS h USING (run_id)
ORDER BY r.run_at, h.period;
