"""Wrong (and differently-right) answers to the exercises of the non-local block (chapter 10).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

WRONG: dict = {
}

RIGHT: dict = {
}
