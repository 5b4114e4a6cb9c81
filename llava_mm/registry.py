"""Registries of llava_mm.

Every registry is a child of the matching mmengine root registry with the
scope ``llava_mm``. A type name in a config is looked up here first and then
in mmengine's root, never in ``mmpretrain``'s registries: ``mmpretrain.models``
does not import with current transformers, so a lookup that could reach it
must not exist.

Each registry's ``locations`` name the modules that register its types;
mmengine imports them when the registry first looks a name up, so a
config's types load when it is built and ``import llava_mm`` stays light.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
    'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'TOKENIZER', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS',
    'FUNCTIONS', 'INFERENCERS'
]

_MODELS = ['llava_mm.models']
_DATA = ['llava_mm.datasets']
# Datasets that subclass mmpretrain's (imported only to build a dataset).
_DATASETS = _DATA + ['llava_mm.datasets.coco_caption',
                     'llava_mm.datasets.coco_vqa']

_ENGINE = ['llava_mm.engine']
_EVALUATION = ['llava_mm.evaluation']
_APIS = ['llava_mm.apis.image_caption', 'llava_mm.apis.vqa']
_VISUALIZATION = ['llava_mm.visualization']

RUNNERS = Registry(
    'runner', parent=MMENGINE_RUNNERS, scope='llava_mm', locations=_ENGINE)
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, scope='llava_mm', locations=_ENGINE)
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='llava_mm', locations=_ENGINE)
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, scope='llava_mm')
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, scope='llava_mm',
    locations=['llava_mm.engine.optimizers'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='llava_mm')
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='llava_mm')
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope='llava_mm')

DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope='llava_mm',
    locations=_DATASETS)
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='llava_mm',
    locations=_DATA)
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope='llava_mm', locations=_DATA)
FUNCTIONS = Registry(
    'function', parent=MMENGINE_FUNCTIONS, scope='llava_mm', locations=_DATA)

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='llava_mm', locations=_MODELS)
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='llava_mm',
    locations=_ENGINE)
# Tokenizers are not nn.Modules; they get a registry of their own.
TOKENIZER = Registry('tokenizer', scope='llava_mm', locations=_MODELS)

METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, scope='llava_mm',
    locations=_EVALUATION)
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, scope='llava_mm',
    locations=_EVALUATION)

VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope='llava_mm',
    locations=_VISUALIZATION)
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, scope='llava_mm')

INFERENCERS = Registry(
    'inferencer', parent=MMENGINE_INFERENCERS, scope='llava_mm',
    locations=_APIS)
