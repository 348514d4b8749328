"""Training: TF1 optimizers, their Keras counterparts, optimizer slots, the K-step loop and its inputs."""

from graphmode.train.keras_map import KerasCounterpart as KerasCounterpart
from graphmode.train.keras_map import TF1Momentum as TF1Momentum
from graphmode.train.keras_map import TF1RMSprop as TF1RMSprop
from graphmode.train.keras_map import keras_counterpart as keras_counterpart
from graphmode.train.keras_map import make_keras_optimizer as make_keras_optimizer
from graphmode.train.loop import LoopResult as LoopResult
from graphmode.train.loop import TrainStep as TrainStep
from graphmode.train.loop import build_train_step as build_train_step
from graphmode.train.loop import run_steps as run_steps
from graphmode.train.loop import train_step as train_step
from graphmode.train.optimizers import ExponentialDecay as ExponentialDecay
from graphmode.train.optimizers import GradientClipping as GradientClipping
from graphmode.train.optimizers import OptimizerSpec as OptimizerSpec
from graphmode.train.optimizers import PiecewiseConstant as PiecewiseConstant
from graphmode.train.optimizers import PolynomialDecay as PolynomialDecay
from graphmode.train.optimizers import TrainOp as TrainOp
from graphmode.train.optimizers import make_tf1_optimizer as make_tf1_optimizer
from graphmode.train.optimizers import minimize as minimize
from graphmode.train.optimizers import optimizer_spec as optimizer_spec

__all__ = [
    "ExponentialDecay",
    "GradientClipping",
    "KerasCounterpart",
    "LoopResult",
    "OptimizerSpec",
    "PiecewiseConstant",
    "PolynomialDecay",
    "TF1Momentum",
    "TF1RMSprop",
    "TrainOp",
    "TrainStep",
    "build_train_step",
    "keras_counterpart",
    "make_keras_optimizer",
    "make_tf1_optimizer",
    "minimize",
    "optimizer_spec",
    "run_steps",
    "train_step",
]
