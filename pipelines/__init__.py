"""Dagster shell of the achats pipeline: thin assets over the `achats` library."""
