"""A config whose Python text is formatted once, not at every request."""
from mmengine.config import Config


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
        other.__dict__.update(cfg.__dict__)
        return other

    @property
    def pretty_text(self) -> str:
        """``Config.pretty_text``, formatted once per content."""
        content = repr(self._cfg_dict.to_dict())
        kept = self.__dict__.get('_text_once')
        if kept is None or kept[0] != content:
            kept = (content, super().pretty_text)
            super(Config, self).__setattr__('_text_once', kept)
        return kept[1]
