"""Reading the shell examples out of the Markdown documents."""

SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}


def shell_blocks(markdown: str) -> list[tuple[int, str]]:
    """(first line number, text) of each fenced sh/bash block, continuation lines joined."""
    blocks, lines, start, language = [], None, 0, ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        if line.startswith("```"):
            if lines is None:
                lines, start, language = [], number + 1, line[3:].strip()
            else:
                if language in SHELL_LANGUAGES:
                    blocks.append((start, "\n".join(lines).replace("\\\n", " ")))
                lines = None
        elif lines is not None:
            lines.append(line)
    return blocks
