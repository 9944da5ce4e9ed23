"""Wrong (and differently-right) answers to the exercises of cSE, sSE and scSE (chapter 04).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

WRONG: dict = {}
RIGHT: dict = {}
