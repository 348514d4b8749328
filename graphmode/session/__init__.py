"""Sessions: the TF1 session drop-in, its config, feed checks and error translation, placement, graph helpers."""

from graphmode.session.engine import InteractiveSession as InteractiveSession
from graphmode.session.engine import Session as Session
from graphmode.session.engine import session_config as session_config
from graphmode.session.graph import STANDARD_COLLECTIONS as STANDARD_COLLECTIONS
from graphmode.session.graph import CollectionSummary as CollectionSummary
from graphmode.session.graph import format_collections as format_collections
from graphmode.session.graph import initial_value as initial_value
from graphmode.session.graph import list_collections as list_collections
from graphmode.session.graph import new_graph as new_graph
from graphmode.session.placement import PlacementRecord as PlacementRecord
from graphmode.session.placement import PlacementReport as PlacementReport

__all__ = [
    "CollectionSummary",
    "InteractiveSession",
    "PlacementRecord",
    "PlacementReport",
    "STANDARD_COLLECTIONS",
    "Session",
    "format_collections",
    "initial_value",
    "list_collections",
    "new_graph",
    "session_config",
]
