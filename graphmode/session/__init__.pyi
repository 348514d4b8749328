# graphmode.session's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .config import session_config as session_config
from .engine import InteractiveSession as InteractiveSession
from .engine import Session as Session
from .graph import STANDARD_COLLECTIONS as STANDARD_COLLECTIONS
from .graph import CollectionSummary as CollectionSummary
from .graph import format_collections as format_collections
from .graph import initial_value as initial_value
from .graph import list_collections as list_collections
from .graph import new_graph as new_graph
from .placement import PlacementRecord as PlacementRecord
from .placement import PlacementReport as PlacementReport
