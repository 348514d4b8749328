# graphmode.train's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .keras_map import KerasCounterpart as KerasCounterpart
from .keras_map import TF1Momentum as TF1Momentum
from .keras_map import TF1RMSprop as TF1RMSprop
from .keras_map import keras_counterpart as keras_counterpart
from .keras_map import make_keras_optimizer as make_keras_optimizer
from .loop import LoopResult as LoopResult
from .loop import run_steps as run_steps
from .optimizers import ExponentialDecay as ExponentialDecay
from .optimizers import GradientClipping as GradientClipping
from .optimizers import OptimizerSpec as OptimizerSpec
from .optimizers import PiecewiseConstant as PiecewiseConstant
from .optimizers import PolynomialDecay as PolynomialDecay
from .optimizers import TrainOp as TrainOp
from .optimizers import make_tf1_optimizer as make_tf1_optimizer
from .optimizers import minimize as minimize
from .optimizers import optimizer_spec as optimizer_spec
from .step import StepGraph as StepGraph
from .step import build_step as build_step
from .step import step_from_train_op as step_from_train_op
