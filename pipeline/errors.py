"""Errors the CLI reports as one clear line (exit code 2), never as a traceback."""

from __future__ import annotations


class InputError(Exception):
    """Bad input a user can fix: names the file, the column and the fix.

    Messages never contain data values (so no identifier can leak through them).
    """

    def __init__(self, file: str, column: str = "", fix: str = "", problem: str = "invalid input"):
        self.file, self.column, self.fix, self.problem = str(file), str(column), fix, problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"column '{self.column}' " if self.column else ""
        fix = f". Fix: {self.fix}" if self.fix else ""
        return " ".join(f"{self.file}: {where}{self.problem}{fix}".split())
