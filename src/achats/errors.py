"""Errors meant for the user: their message is French and names the file at fault."""


class InputError(Exception):
    """An input that cannot be used at all; the run stops before touching the warehouse."""
