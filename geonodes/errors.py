"""Errors raised for bad programs and bad inputs.

Every message names the place: file, group, node, socket or parameter, so a user can fix it
without reading a traceback. The CLI prints the message on one line and exits non-zero.
"""


class IRError(ValueError):
    """A program (IR JSON or .blend) is malformed or uses something unsupported."""


class ParameterError(ValueError):
    """A parameter value is unknown, of the wrong kind, or out of range."""
