"""Rules of the fused operations that `idioms` puts in place of common compositions (sigmoid, softmax ...)."""
from __future__ import annotations
