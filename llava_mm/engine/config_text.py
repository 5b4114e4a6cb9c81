"""A config whose Python text is formatted once, not at every request."""
from mmengine.config import Config


def share_state(view: Config, cfg: Config) -> None:
    """Make ``view`` share ``cfg``'s content, file name and text.

    The one use of ``Config``'s internals: mmengine keeps a config's state
    (``_cfg_dict``, ``_filename``, ``_text``, ...) as instance attributes
    and has no public way to view a config as a subclass.
    ``tests/test_config_text.py`` checks this against the installed
    mmengine.

    Args:
        view (Config): A new, empty instance (``cls.__new__(cls)``).
        cfg (Config): The config to share.
    """
    view.__dict__.update(cfg.__dict__)


class TextOnceConfig(Config):
    """:class:`mmengine.config.Config` that keeps its ``pretty_text``.

    mmengine's Runner asks for ``pretty_text`` four times while it starts
    (the log, ``dump_config``, the visualizer's config file and
    ``RuntimeInfoHook``), and each request formats the whole config with
    yapf again. This class keeps the text together with the content it was
    made from, and makes it again when the content has changed since.
    """

    @classmethod
    def from_config(cls, cfg: Config) -> 'TextOnceConfig':
        """The same config (sharing its content) as a TextOnceConfig.

        Args:
            cfg (Config): The config.

        Returns:
            TextOnceConfig: A view of ``cfg``'s content.
        """
        other = cls.__new__(cls)
        share_state(other, cfg)
        return other

    @property
    def pretty_text(self) -> str:
        """``Config.pretty_text``, formatted once per content."""
        content = repr(self.to_dict())
        kept = self.__dict__.get('_text_once')
        if kept is None or kept[0] != content:
            kept = (content, super().pretty_text)
            # Config's __setattr__ writes into the content; this is not.
            object.__setattr__(self, '_text_once', kept)
        return kept[1]
