"""The ``ghee`` console command: every manage.py command, as ``ghee <command>``.

ghee's own commands (``org``, ``token``, ``schema``, ``demo``, ``serve``) are management
commands too. Whatever fails, the user sees one line per problem on stderr and a non-zero
exit status, never a traceback (``--traceback`` or ``GHEE_DEBUG=1`` shows it).
"""

import os
import sys


def _hint(exc: BaseException) -> str:
    from django.db import DatabaseError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, DatabaseError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text)
    ):
        return f"{text} (the database is not set up: run `ghee migrate`)"
    return text


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ghee.settings")
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "help"
    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["ghee", *args])
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(130)
    except Exception as exc:
        if "--traceback" in args or os.environ.get("GHEE_DEBUG", "").lower() in {"1", "true"}:
            raise
        from django.core.exceptions import ValidationError

        from ghee.core.management.base import describe_error

        message = describe_error(exc) if isinstance(exc, ValidationError) else _hint(exc)
        sys.stderr.write(f"ghee {command}: error: {message}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
