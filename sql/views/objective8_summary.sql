-- Contract view: Objective 8 figures per quarter, for undated lines ('sans date') and for all periods.
CREATE OR REPLACE VIEW objective8_summary AS
SELECT * FROM mart_objective8_summary;
