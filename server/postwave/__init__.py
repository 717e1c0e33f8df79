"""postwave: a self-hosted, multi-tenant email delivery platform."""

import os

__version__ = "0.1.0"

# gRPC reads its experiments once, when grpc is first imported: set before any module of
# the package imports it. Serving through EventEngine's listener costs the API about a
# third more CPU per streamed request here (README, Performance); an operator's own
# GRPC_EXPERIMENTS wins.
os.environ.setdefault("GRPC_EXPERIMENTS", "-event_engine_listener")
