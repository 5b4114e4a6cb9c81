from .visualizer import LlavaVisualizer

__all__ = ['LlavaVisualizer']
