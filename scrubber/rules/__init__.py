"""The rules: one module per family, all registered in :data:`RULES`."""
from .base import RULES, Context, Issue, Rule, register  # noqa: F401
from . import ndc, units, wastage, codes  # noqa: F401,E402  (registers the rules)
from . import policy  # noqa: F401,E402  (payer-policy rules)

__all__ = ["RULES", "Context", "Issue", "Rule", "register"]
