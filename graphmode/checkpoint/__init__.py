"""Checkpoints: read and inspect, pair names (the rule is ``graphmode._pairing``), load into eager models, save for TF1,
write crash-safely, clean what interrupted saves left."""

from graphmode.checkpoint.load import LoadReport as LoadReport
from graphmode.checkpoint.load import load_tf1_checkpoint as load_tf1_checkpoint
from graphmode.checkpoint.reader import CheckpointEntry as CheckpointEntry
from graphmode.checkpoint.reader import CheckpointSummary as CheckpointSummary
from graphmode.checkpoint.reader import CheckpointVariable as CheckpointVariable
from graphmode.checkpoint.reader import inspect_checkpoint as inspect_checkpoint
from graphmode.checkpoint.recurrent import KerasRecurrentWeights as KerasRecurrentWeights
from graphmode.checkpoint.recurrent import TF1GRUWeights as TF1GRUWeights
from graphmode.checkpoint.recurrent import TF1LSTMWeights as TF1LSTMWeights
from graphmode.checkpoint.recurrent import gru_weights_from_tf1 as gru_weights_from_tf1
from graphmode.checkpoint.recurrent import gru_weights_to_tf1 as gru_weights_to_tf1
from graphmode.checkpoint.recurrent import lstm_weights_from_tf1 as lstm_weights_from_tf1
from graphmode.checkpoint.recurrent import lstm_weights_to_tf1 as lstm_weights_to_tf1
from graphmode.checkpoint.save import save_tf1_checkpoint as save_tf1_checkpoint

__all__ = [
    "CheckpointEntry",
    "CheckpointSummary",
    "CheckpointVariable",
    "KerasRecurrentWeights",
    "LoadReport",
    "TF1GRUWeights",
    "TF1LSTMWeights",
    "gru_weights_from_tf1",
    "gru_weights_to_tf1",
    "inspect_checkpoint",
    "load_tf1_checkpoint",
    "lstm_weights_from_tf1",
    "lstm_weights_to_tf1",
    "save_tf1_checkpoint",
]
