-- Contract view: the buyer's spend per CPV division beside the local ESS offer.
CREATE OR REPLACE VIEW ess_offer_by_category AS
SELECT * FROM mart_ess_offer_by_category;
COMMENT ON VIEW ess_offer_by_category IS 'Par division CPV : dépense de l''acheteur, dont ESS, et nombre de structures ESS et inclusives actives du département capables d''y répondre (d''après leur code NAF).';
