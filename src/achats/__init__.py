"""achats: measure a French public buyer's spending with the social and solidarity economy (ESS)."""

__version__ = "0.1.0"
