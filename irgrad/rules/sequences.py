"""Rules of the operations that `loops` uses for loops turned into array code."""
from __future__ import annotations
