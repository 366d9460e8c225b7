"""The flow-shop tests need the plugin installed (its entry point is part of what they test)."""

from __future__ import annotations

import pytest

pytest.importorskip("flowshop", reason="install the plugin: pip install --no-deps -e "
                                       "examples/flowshop")
