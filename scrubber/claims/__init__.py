"""The claims layer: 837P/837I loops and the one view of a service line."""
from .model import Claim, ClaimContext, Ref, ServiceLine, Value  # noqa: F401
from .walker import ClaimStream, build_claim, iter_claims, transaction_kind  # noqa: F401
