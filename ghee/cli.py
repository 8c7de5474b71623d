"""The ``ghee`` console command: every manage.py command, as ``ghee <command>``.

ghee's own commands (``org``, ``token``, ``user``, ``schema``, ``media``, ``demo``,
``serve``, ``worker``) are management commands too. ``ghee``, ``ghee --help`` and
``ghee help`` list those, with one line each; ``ghee help --commands`` lists Django's as
well, and ``ghee --version`` prints ghee's version. Whatever fails, the user sees one line
per problem on stderr and a non-zero exit status, never a traceback (``--traceback`` or
``GHEE_DEBUG=1`` shows it).

Every command ghee prints for the user to run (hints, banners, errors) names the program
the way ``printed_command`` decides, so it works when pasted: ``.venv/bin/ghee ...`` from the
repository directory after ``make install``, plain ``ghee`` once that is on ``PATH``.
Messages are written with `ghee ...` in backticks; ``runnable`` spells them out.
"""

import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

from ghee.core import env

HELP_FLAGS = {"-h", "--help", "help"}
VERSION_FLAGS = {"--version", "-V", "version"}


def version() -> str:
    try:
        return metadata.version("ghee")
    except metadata.PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


def printed_command() -> str:
    """How a user runs ghee again from the shell they are in, for commands ghee prints.

    ``ghee`` when that name on ``PATH`` is this very program; otherwise this program's
    path (``.venv/bin/ghee`` after ``make install``), relative to the current directory
    when it lies below it, so a pasted command works where ``ghee`` is "command not found".
    """
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    program = argv0 if argv0 is not None and argv0.name == "ghee" else None
    if program is None:  # called as a module or from tests: the one beside this Python
        beside = Path(sys.executable).parent / "ghee"
        program = beside if beside.exists() else None
    if program is None:
        return "ghee"
    on_path = shutil.which("ghee")
    if on_path and Path(on_path).resolve() == program.resolve():
        return "ghee"
    absolute = program if program.is_absolute() else Path.cwd() / program
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def runnable(text: str) -> str:
    """``text`` with every `ghee ...` it quotes in backticks spelled as ``printed_command``."""
    if "`ghee" not in text:
        return text
    program = printed_command()
    if program == "ghee":
        return text
    return text.replace("`ghee ", f"`{program} ").replace("`ghee`", f"`{program}`")


def own_commands() -> list[tuple[str, str]]:
    """ghee's own management commands with the first sentence of their help, by name."""
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    rows = []
    for name, app in sorted(get_commands().items()):
        if app.startswith("ghee."):
            text = load_command_class(app, name).help.strip().splitlines()
            rows.append((name, text[0] if text else ""))
    return rows


def print_help() -> None:
    rows = own_commands()
    width = max(len(name) for name, _ in rows)
    ghee = printed_command()
    lines = [
        f"usage: {ghee} COMMAND [options]      ({ghee} COMMAND --help: that command's options)",
        "",
        f"ghee {version()}: a content service that speaks the ButterCMS API v2 for Collections.",
        "",
        "Commands:",
        *(f"  {name.ljust(width)}  {text}" for name, text in rows),
        "",
        "Django's commands work too: migrate, createsuperuser, changepassword, shell, ...",
        f"(`{ghee} help --commands` lists them all). Reference: docs/cli.md",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _hint(exc: BaseException) -> str:
    from django.db import DatabaseError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, DatabaseError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text)
    ):
        return f"{text} (the database is not set up: run `ghee migrate`)"
    return text


def _debug() -> bool:
    """GHEE_DEBUG as settings read it (a malformed value already stopped ghee: False)."""
    try:
        return env.boolean("GHEE_DEBUG")
    except env.EnvError:
        return False


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ghee.settings")
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "help"
    if len(args) == 1 and command in VERSION_FLAGS:
        sys.stdout.write(f"ghee {version()}\n")
        return
    try:
        if len(args) <= 1 and command in HELP_FLAGS:
            print_help()
            return
        from django.core.management import execute_from_command_line

        execute_from_command_line(["ghee", *args])
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(130)
    except env.EnvError as exc:  # a variable ghee cannot use: nothing ran, one line says which
        sys.stderr.write(f"ghee: {exc}\n")
        sys.exit(2)
    except Exception as exc:
        if "--traceback" in args or _debug():
            raise
        from django.core.exceptions import ValidationError

        from ghee.core.management.base import describe_error

        message = describe_error(exc) if isinstance(exc, ValidationError) else _hint(exc)
        sys.stderr.write(runnable(f"ghee {command}: error: {message}\n"))
        sys.exit(1)


if __name__ == "__main__":
    main()
