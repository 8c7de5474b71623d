"""What every ``ghee`` command shares: one-line errors, tables, and commands that work when
pasted (a `ghee ...` in backticks in anything a command writes is spelled the way the user
runs ghee, ``ghee.cli.runnable``)."""

import logging
import sys
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from ghee.cli import runnable


@contextmanager
def quiet_loggers(*names: str, level: int = logging.CRITICAL):
    """Hold these loggers to ``level`` while the block runs: what they would tell a worker's
    operator, a command says itself, once."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, previous in zip(loggers, levels, strict=True):
            logger.setLevel(previous)


class RunnableOutput(OutputWrapper):
    """Standard output whose quoted `ghee ...` commands name the program that runs."""

    def write(self, msg="", style_func=None, ending=None):
        super().write(runnable(msg), style_func, ending)


def describe_error(exc: BaseException) -> str:
    """An exception as a message a user can act on (no traceback, no class path)."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                " ".join(messages) if field == "__all__" else f"{field}: {' '.join(messages)}"
                for field, messages in exc.message_dict.items()
            )
        return " ".join(exc.messages)
    return str(exc) or type(exc).__name__


class GheeCommand(BaseCommand):
    """A management command whose errors read ``ghee <command>: error: <message>``.

    From the command line an error is printed (one line per problem) and the exit status
    is 1. Through ``call_command`` it is raised as ``CommandError``, as Django does.
    """

    _from_command_line = False

    def __init__(self, stdout=None, stderr=None, no_color=False, force_color=False):
        super().__init__(stdout, stderr, no_color, force_color)
        self.stdout = RunnableOutput(stdout or sys.stdout)

    def run_from_argv(self, argv):
        self._from_command_line = "--traceback" not in argv
        self._command_name = argv[1] if len(argv) > 1 else "ghee"
        super().run_from_argv(argv)

    def execute(self, *args, **options):
        if options.get("stdout"):  # call_command(stdout=...): BaseCommand would rewrap it
            self.stdout = RunnableOutput(options.pop("stdout"))
        try:
            try:
                return super().execute(*args, **options)
            except ValidationError as exc:
                # A service refusing input (bad slug, duplicate key) is the user's to fix.
                raise CommandError(describe_error(exc)) from exc
        except CommandError as exc:
            if not self._from_command_line:
                raise
            for line in describe_error(exc).splitlines() or ["failed"]:
                sys.stderr.write(runnable(f"ghee {self._command_name}: error: {line}\n"))
            sys.exit(exc.returncode)

    def write_table(self, rows: list[tuple[str, ...]]) -> None:
        """Rows of text as aligned columns; the first row is the header."""
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
