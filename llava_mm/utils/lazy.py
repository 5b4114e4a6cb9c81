"""Package attributes imported on first use (PEP 562).

``import llava_mm`` stays a light facade: the API's modules, and the torch,
transformers and mmengine stacks behind them, load when a name is first
used. Registries do not depend on it: their ``locations`` import the
modules that register config types when a config is built.
"""
import importlib
from typing import Callable, Dict, List, Tuple


def lazy_exports(package: str, exports: Dict[str, str]
                 ) -> Tuple[Callable[[str], object], Callable[[], List[str]],
                            List[str]]:
    """Module ``__getattr__``/``__dir__``/``__all__`` for lazy exports.

    Args:
        package (str): The package's ``__name__``.
        exports (dict): Attribute name -> module that defines it, relative
            to ``package`` (``'.apis.inference'``) or absolute.

    Returns:
        tuple: ``(__getattr__, __dir__, __all__)`` to assign in the
        package's ``__init__``.

    Example:
        >>> __getattr__, __dir__, __all__ = lazy_exports(
        ...     __name__, {'get_model': '.apis.inference'})
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(
                f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(exports[name], package),
                        name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> List[str]:
        module = importlib.import_module(package)
        return sorted(set(vars(module)) | set(exports))

    return __getattr__, __dir__, sorted(exports)
