-- Contract view: the buyer's spend per CPV division beside the local ESS offer.
CREATE OR REPLACE VIEW ess_offer_by_category AS
SELECT * FROM mart_ess_offer_by_category;
