# graphmode.checkpoint's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .load import LoadReport as LoadReport
from .load import load_tf1_checkpoint as load_tf1_checkpoint
from .reader import CheckpointEntry as CheckpointEntry
from .reader import CheckpointSummary as CheckpointSummary
from .reader import CheckpointVariable as CheckpointVariable
from .reader import inspect_checkpoint as inspect_checkpoint
from .recurrent import KerasRecurrentWeights as KerasRecurrentWeights
from .recurrent import TF1GRUWeights as TF1GRUWeights
from .recurrent import TF1LSTMWeights as TF1LSTMWeights
from .recurrent import gru_weights_from_tf1 as gru_weights_from_tf1
from .recurrent import gru_weights_to_tf1 as gru_weights_to_tf1
from .recurrent import lstm_weights_from_tf1 as lstm_weights_from_tf1
from .recurrent import lstm_weights_to_tf1 as lstm_weights_to_tf1
from .save import save_tf1_checkpoint as save_tf1_checkpoint
