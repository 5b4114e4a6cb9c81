"""Whether drawings can be shown in a window here.

mmengine's ``Visualizer.show`` waits for a key press in a matplotlib
window. Under a non-interactive backend (matplotlib picks ``agg`` on a
machine without a display) no window opens and the wait never ends, so
``show=True`` is refused there before any work is done.
"""


def check_can_show() -> None:
    """Raise unless matplotlib can open a window (or draws inline).

    Raises:
        RuntimeError: matplotlib's backend is non-interactive.
    """
    import matplotlib
    try:
        from matplotlib.backends import BackendFilter, backend_registry
        non_interactive = backend_registry.list_builtin(
            BackendFilter.NON_INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        from matplotlib.rcsetup import non_interactive_bk as non_interactive
    backend = matplotlib.get_backend()
    if 'inline' in backend:  # Jupyter: mmengine returns the figure
        return
    if backend.lower() in non_interactive:
        raise RuntimeError(
            f'show=True needs a display, and matplotlib\'s backend here is '
            f'{backend!r} (no window can open). Save the drawings instead '
            "with show_dir='DIR' (tools: --show-dir DIR), or run where a "
            'display is available (e.g. set DISPLAY, or MPLBACKEND=TkAgg).')
