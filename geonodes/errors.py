"""Errors raised for bad programs and bad inputs.

Every message names the place: file, group, node, socket or parameter, so a user can fix it
without reading a traceback. The CLI prints the message on one line and exits 2; it catches
`GeonodesError` only, so anything else (a bug) keeps its traceback.
"""


class GeonodesError(ValueError):
    """Base of every error geonodes raises on purpose for bad input (programs, parameters,
    files, options)."""


class IRError(GeonodesError):
    """A program (IR JSON or .blend) is malformed or uses something unsupported."""


class ParameterError(GeonodesError):
    """A parameter value is unknown, of the wrong kind, or out of range."""


class UnsupportedNodeError(IRError):
    """A program uses a node type the compiler does not support (the message names the group,
    the node and its type)."""
