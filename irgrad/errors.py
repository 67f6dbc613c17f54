"""The error classes.  Every error irgrad raises about the user's input is an `IrgradError`; an exception raised
by the user's own code passes through unchanged."""


class IrgradError(Exception):
    """Base of every error irgrad raises about what it was given."""


class UnsupportedError(IrgradError):
    """A construct irgrad cannot trace or differentiate (it names the construct, the function and file:line)."""


class NoRuleError(IrgradError):
    """A callable with no Python source to recurse into and no registered rule."""


class IRVerifyError(IrgradError):
    """The IR is malformed (a bug in a pass, never the user's fault); the message shows the IR around the fault."""


class TypeSpecError(IrgradError):
    """A type spec string (`irdump --types`) that does not parse."""


def where(code_or_func, line=None) -> str:
    """`name (file:line)` for a function or code object, for error messages."""
    code = getattr(code_or_func, "__code__", code_or_func)
    name = getattr(code, "co_qualname", None) or getattr(code, "co_name", "?")
    filename = getattr(code, "co_filename", "?")
    if line is None:
        line = getattr(code, "co_firstlineno", "?")
    return f"{name} ({filename}:{line})"
