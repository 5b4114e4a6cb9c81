"""Imports in ``llava_mm`` only point down the floors of
docs/architecture.md, and no modules import each other in a circle.

Every module is parsed with :mod:`ast`; the imports counted are the
top-level ones and those inside functions (lazy imports run too, only
later), plus the modules a ``lazy_exports`` table names.
"""
import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'llava_mm'

# Floor of each part of the package (a top-level module or folder, or a
# module inside a folder that sits lower than the rest of it). A module may
# import any part on a lower floor, and its own folder on its floor or
# lower. Same-floor parts are siblings and do not import each other.
FLOORS = {
    'version': 0, 'constants': 0, 'registry': 0,
    'utils': 1,
    'ops': 2, 'conversation': 2,
    'generation': 3,
    'models': 4,
    # The checkpoint layouts the model loader reads sit below the models;
    # the export to llava-hf builds on them.
    'converters.to_mm': 3, 'converters.key_maps': 3,
    'datasets': 5, 'evaluation': 5, 'visualization': 5, 'converters': 5,
    'engine': 6,
    'apis': 7,
    'tools': 8, '__init__': 8,
}
# The only imports that may point up or close a circle, with the reason.
_INFERENCE_MODEL = ('mmpretrain-style: inference_model() builds the '
                    'inferencer, which loads its model with get_model(); '
                    'the import is inside the function')
ALLOWED = {
    ('llava_mm.apis.inference', 'llava_mm.apis.image_caption'):
    _INFERENCE_MODEL,
    ('llava_mm.apis.inference', 'llava_mm.apis.vqa'): _INFERENCE_MODEL,
}
# registry.py names modules in its ``locations``: mmengine imports them on
# the first look-up of a type. Those are strings, not imports, and are not
# counted here (they point up by design: a registry lists its members).


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def part_of(module: str) -> str:
    """The longest key of ``FLOORS`` that ``module`` is or lies in."""
    parts = module.split('.')[1:]
    for end in range(len(parts), 0, -1):
        if '.'.join(parts[:end]) in FLOORS:
            return '.'.join(parts[:end])
    return '__init__' if not parts else parts[0]


def resolve(importer: str, is_package: bool, level: int,
            target: str) -> str:
    if not level:
        return target
    base = importer.split('.')
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return '.'.join(base + ([target] if target else []))


def _lazy_table(node: ast.Call) -> List[str]:
    if not (isinstance(node.func, ast.Name)
            and node.func.id == 'lazy_exports' and len(node.args) == 2
            and isinstance(node.args[1], ast.Dict)):
        return []
    return [value.value for value in node.args[1].values
            if isinstance(value, ast.Constant)]


def imports_of(path: Path, modules: Set[str],
               root: Path = PACKAGE) -> Set[str]:
    """The llava_mm modules that ``path`` imports, anywhere in the file."""
    importer = module_name(path, root)
    is_package = path.name == '__init__.py'
    found = set()

    def add(name: str) -> None:
        # ``from pkg import module`` names a module; else the longest
        # module prefix of the name is the one imported.
        while name and name not in modules:
            name = name.rpartition('.')[0]
        if name and name != importer:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('llava_mm'):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(importer, is_package, node.level,
                           node.module or '')
            if not base.startswith('llava_mm'):
                continue
            for alias in node.names:
                full = f'{base}.{alias.name}'
                if full in modules:
                    add(full)
                elif not (node.level and not node.module):
                    add(base)
                # else ``from . import name`` of no .py file: a compiled
                # extension module (ops/cpu's kernel), not the package.
        elif isinstance(node, ast.Call):
            for target in _lazy_table(node):
                level = len(target) - len(target.lstrip('.'))
                add(resolve(importer, is_package, level,
                            target.lstrip('.')))
    return found


def import_graph() -> Dict[str, Set[str]]:
    paths = sorted(PACKAGE.rglob('*.py'))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, modules) for path in paths}


def upward_imports(graph: Dict[str, Set[str]]) -> List[str]:
    bad = []
    for importer, imported in sorted(graph.items()):
        for target in sorted(imported):
            if (importer, target) in ALLOWED:
                continue
            src, dst = part_of(importer), part_of(target)
            same_folder = src.split('.')[0] == dst.split('.')[0]
            if FLOORS[dst] > FLOORS[src] or (
                    FLOORS[dst] == FLOORS[src] and not same_folder):
                bad.append(f'{importer} (floor {FLOORS[src]}, {src}) '
                           f'imports {target} (floor {FLOORS[dst]}, {dst})')
    return bad


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {importer: {t for t in imported if (importer, t) not in ALLOWED}
             for importer, imported in graph.items()}
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_part_has_a_floor():
    parts = {part_of(module) for module in import_graph()}
    assert parts <= set(FLOORS), sorted(parts - set(FLOORS))
    for key in FLOORS:  # no stale entries
        path = PACKAGE / key.replace('.', '/')
        assert key == '__init__' or path.is_dir() or \
            path.with_suffix('.py').is_file(), key


def test_imports_point_down():
    assert upward_imports(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_allowed_exceptions_still_exist():
    graph = import_graph()
    for importer, target in ALLOWED:
        assert target in graph[importer], (importer, target)


@pytest.mark.parametrize('source,expected', [
    ('from llava_mm.apis import inference\n', 'llava_mm.apis.inference'),
    ('def f():\n    from ..apis.inference import init_model\n',
     'llava_mm.apis.inference'),
    ('import llava_mm.apis.chat as chat\n', 'llava_mm.apis.chat'),
])
def test_checker_catches_an_upward_import(tmp_path, source, expected):
    # The checker itself: a utils module importing apis (top-level or in a
    # function) is an upward import.
    fake = tmp_path / 'llava_mm' / 'utils' / 'cli.py'
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    modules = {'llava_mm.apis.inference', 'llava_mm.apis.chat',
               'llava_mm.apis', 'llava_mm.utils.cli'}
    imported = imports_of(fake, modules, root=tmp_path / 'llava_mm')
    assert imported == {expected}
    assert upward_imports({'llava_mm.utils.cli': imported}) != []


def test_checker_finds_a_cycle():
    graph = {'llava_mm.ops.a': {'llava_mm.ops.b'},
             'llava_mm.ops.b': {'llava_mm.ops.a'}, 'llava_mm.ops.c': set()}
    assert cycles(graph) == [['llava_mm.ops.a', 'llava_mm.ops.b']]
