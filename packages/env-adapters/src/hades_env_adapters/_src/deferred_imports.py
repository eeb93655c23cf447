"""Import a package while deferring the plotting libraries it imports but does not need yet.

gymnax imports matplotlib and seaborn (and through it pandas and scipy.stats) at module level,
only for its `render` functions: that is ~120 MB of resident memory and seconds of start-up in
every process that steps a gymnax env. Inside `deferred(...)`, those imports bind stand-in
modules instead; the first attribute looked up on a stand-in afterwards (e.g. `plt.subplots`
when rendering) imports the real module and forwards to it, so rendering still works.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator


class _Deferred(types.ModuleType):
    """A stand-in for a module whose import was deferred; resolves to the real one on use."""

    _active = False  # True while the deferring import runs: stand-ins stay stand-ins

    def __getattr__(self, name: str):
        if name.startswith("__") or _Deferred._active:
            raise AttributeError(name)
        real = importlib.import_module(self.__name__)
        if real is self:  # pragma: no cover - stand-ins are gone once the import is done
            raise AttributeError(name)
        return getattr(real, name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots: tuple[str, ...]):
        self.roots = roots

    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == root or fullname.startswith(root + ".") for root in self.roots):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Deferred(spec.name)
        module.__path__ = []  # a package: `import root.sub` comes back here for the stand-in
        return module

    def exec_module(self, module):
        pass


@contextlib.contextmanager
def deferred(*roots: str) -> Iterator[None]:
    """Imports of `roots` (and their submodules) inside the block bind lazy stand-ins.

    Roots already imported are left alone (the real module is there: nothing to save). The
    stand-ins are removed from `sys.modules` when the block ends, so any later import gets the
    real module.
    """
    roots = tuple(r for r in roots if r not in sys.modules)
    if not roots:
        yield
        return
    finder = _Finder(roots)
    sys.meta_path.insert(0, finder)
    _Deferred._active = True
    try:
        yield
    finally:
        _Deferred._active = False
        sys.meta_path.remove(finder)
        for name in [n for n, m in sys.modules.items() if isinstance(m, _Deferred)]:
            del sys.modules[name]
