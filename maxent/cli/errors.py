"""One error mapper for every command: library exceptions -> one line on stderr and an exit code.

Exit codes (for scripts): 0 success; 1 a failure while running (details in the message, and for
``run`` in ``OUT/run.log``); 2 bad usage or bad input — a missing, corrupt or invalid file, an
invalid config, impossible sizes, an output folder holding another run — reported as one line
``Error: ...`` on stderr, never as a traceback; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

__all__ = ["BadInput", "RunFailure", "script_errors", "one_line"]


class BadInput(click.ClickException):
    """Bad input: one-line message, exit code 2."""

    exit_code = 2


class RunFailure(click.ClickException):
    """A failure while running: one-line message, exit code 1."""

    exit_code = 1


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def script_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map library exceptions to exit codes and one-line messages (no tracebacks)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from maxent._atomic import CorruptFileError
        from maxent.pipeline.config import ConfigError
        from maxent.pipeline.summary import OutputFolderError, PipelineError

        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted (rerun the same command to resume).", err=True)
            sys.exit(130)
        except BrokenPipeError:  # output piped into e.g. `head`, which closed early
            sys.stderr.close()
            sys.exit(0)
        except PipelineError as exc:
            raise RunFailure(one_line(exc)) from None
        except (
            ConfigError,
            OutputFolderError,
            CorruptFileError,
            FileNotFoundError,
            IsADirectoryError,
        ) as exc:
            raise BadInput(one_line(exc)) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(one_line(exc)) from None
        except Exception as exc:  # noqa: BLE001 - scripts get one line, not a traceback
            raise RunFailure(f"{type(exc).__name__}: {one_line(exc)}") from None

    return wrapper
