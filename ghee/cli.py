"""The ``ghee`` console command: every manage.py command, as ``ghee <command>``."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ghee.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ghee", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
