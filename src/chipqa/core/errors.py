"""Exceptions that chipqa raises for a person to read.

ChipQAError                 base: the CLI and UI print str(error) as one line
├── InputError              a question, path or file the user gave is unusable
├── IndexError_             the index is missing, locked or inconsistent
├── BackendError            a server (Chroma, LLM) is unreachable or failed
└── ConfigError             a setting has a bad value or an optional extra is missing
"""


class ChipQAError(Exception):
    """Base class: its message is shown to the user as is."""


class InputError(ChipQAError):
    """The user's question, file or path cannot be used."""


class IndexError_(ChipQAError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The index is missing, busy or inconsistent."""


class BackendError(ChipQAError):
    """A backing service (Chroma server, LLM server) failed or is unreachable."""


class ConfigError(ChipQAError):
    """A setting is invalid, or a needed optional package is not installed."""
