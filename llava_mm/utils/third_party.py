"""Keep third-party import side effects off llava_mm's start-up and output.

Two libraries are imported by the stack whether or not they are used, and
each import costs seconds (they pull in torch.compile) and prints lines:

- ``mmengine.optim`` (imported by ``mmengine.model``) imports bitsandbytes
  to register its optimizers. While mmengine's optimizer builder runs,
  bitsandbytes is made unimportable; its optimizers are registered when a
  config first builds an optimizer (:mod:`llava_mm.engine.optimizers`, the
  ``OPTIMIZERS`` registry's location).
- transformers' torchao quantizer imports torchao to have one function at
  hand. While that module runs, the function is given as a stand-in that
  imports torchao at its first call.

Quantization imports both when it is asked for
(:mod:`llava_mm.models.quantization`); a library imported before llava_mm
is left alone. Log records that only announce a third-party fallback or
deprecation are dropped by filters on the loggers that emit them:
bitsandbytes' "Failed to load CPU gemm_4bit_forward from kernels-community"
(it then uses its own CPU code) and torch's warning when torchao registers
its enums as pytree constants. Nothing else is filtered, and
:func:`show_all` (the tools' ``--verbose``) removes the filters.
"""
import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import types
from typing import Dict, Optional, Sequence, Tuple

# Module -> (modules it cannot import while it runs, modules whose
# attributes it gets as call-time stand-ins), and the package that, when
# already imported, makes the deferral pointless.
DEFERRED: Dict[str, Tuple[Sequence[str], Sequence[str], str]] = {
    'mmengine.optim.optimizer.builder': (('bitsandbytes', ), (),
                                         'bitsandbytes'),
    'transformers.quantizers.quantizer_torchao': (
        (), ('torchao.prototype.safetensors.safetensors_support', ),
        'torchao'),
}


class _RecordFilter(logging.Filter):
    """Drop a logger's records whose message template starts with a text.

    Args:
        prefix (str): Start of the record's ``msg`` (the unformatted
            template, so arguments do not matter).
        arg_module (str, optional): Also require the first argument to be
            defined in this package.
    """

    def __init__(self, prefix: str, arg_module: Optional[str] = None):
        super().__init__()
        self.prefix = prefix
        self.arg_module = arg_module

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        if self.arg_module is None:
            return False
        args = record.args if isinstance(record.args, tuple) else ()
        module = getattr(args[0], '__module__', '') if args else ''
        return not (module == self.arg_module
                    or module.startswith(self.arg_module + '.'))


FILTERS = {
    'bitsandbytes.backends.cpu.ops': _RecordFilter(
        'Failed to load CPU gemm_4bit_forward from kernels-community'),
    'torch.utils._pytree': _RecordFilter(
        '%s is an Enum subclass and is now natively supported by '
        'torch.compile', arg_module='torchao'),
}


class CallLater:
    """Stands for a function of a module that is imported at the first call.

    Args:
        module (str): The module.
        name (str): The function's name in it.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def __call__(self, *args, **kwargs):
        function = getattr(importlib.import_module(self.module), self.name)
        return function(*args, **kwargs)

    def __repr__(self) -> str:
        return f'<{self.module}.{self.name}, imported at the first call>'


class _StandIns(types.ModuleType):
    """A module whose every attribute is a :class:`CallLater`."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        return CallLater(self.__name__, name)


class _LoaderWithout(importlib.abc.Loader):
    """Executes a module with some imports hidden or stood in for."""

    def __init__(self, loader: importlib.abc.Loader, hidden: Sequence[str],
                 stand_ins: Sequence[str]) -> None:
        self.loader = loader
        self.replaced = {name: None for name in hidden}
        self.replaced.update({name: _StandIns(name) for name in stand_ins})

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        replaced = {name: value for name, value in self.replaced.items()
                    if name not in sys.modules}
        sys.modules.update(replaced)  # None: `import name` raises
        try:
            self.loader.exec_module(module)
        finally:
            for name, value in replaced.items():
                if sys.modules.get(name, 0) is value:
                    del sys.modules[name]

    def __getattr__(self, name: str):
        return getattr(self.loader, name)


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`DEFERRED` and wraps their loaders."""

    def __init__(self) -> None:
        self.pending = dict(DEFERRED)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.pending:
            return None
        hidden, stand_ins, package = self.pending.pop(fullname)
        if not self.pending and self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None and \
                package not in sys.modules:
            spec.loader = _LoaderWithout(spec.loader, hidden, stand_ins)
        return spec


def install() -> None:
    """Defer the imports of :data:`DEFERRED`; add the log filters.

    Called by ``import llava_mm``; calling it again changes nothing.
    """
    if not any(isinstance(f, _DeferringFinder) for f in sys.meta_path):
        finder = _DeferringFinder()
        for name in list(finder.pending):
            if name in sys.modules:  # imported before llava_mm
                del finder.pending[name]
        if finder.pending:
            sys.meta_path.insert(0, finder)
    for name, record_filter in FILTERS.items():
        logging.getLogger(name).addFilter(record_filter)


def show_all() -> None:
    """Remove the log filters (``--verbose``): show every message."""
    for name, record_filter in FILTERS.items():
        logging.getLogger(name).removeFilter(record_filter)
