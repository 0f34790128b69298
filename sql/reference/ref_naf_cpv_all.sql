-- Every CPV division a NAF division can serve (curated and derived), for the ESS offer map.
CREATE OR REPLACE TABLE ref_naf_cpv_all AS
SELECT DISTINCT naf_division, cpv_division FROM ref_naf_cpv_curated
UNION
SELECT DISTINCT naf_division, cpv_division FROM ref_naf_cpv_derived WHERE share_of_cpv_division >= 0.2;
