"""Scenes of the shapes dataset: coloured shapes on a grid, and images."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

COLOURS: Dict[str, Tuple[int, int, int]] = {
    'red': (225, 35, 35),
    'green': (40, 175, 55),
    'blue': (45, 95, 235),
    'yellow': (240, 220, 40),
    'purple': (155, 60, 205),
    'orange': (245, 140, 25),
}
KINDS = ('circle', 'square', 'triangle', 'cross')
# Half-extent of a shape in pixels of a 64-pixel image, per size word.
SIZES = {'small': (3.5, 4.5), 'large': (6.0, 6.8)}
BASE_SIZE = 64  # coordinates are drawn in a 64x64 frame, then scaled
GRID = 4  # shapes sit in cells of a 4x4 grid, one per column
JITTER = 1.0  # random offset of a shape from its cell centre (pixels)


@dataclass
class Shape:
    """One shape of a scene, in 64x64-frame coordinates."""

    kind: str
    colour: str
    size: str
    x: float
    y: float
    r: float

    @property
    def name(self) -> str:
        return f'{self.size} {self.colour} {self.kind}'


def sample_scene(rng: np.random.Generator) -> Tuple[List[Shape], int]:
    """Draw 1-3 shapes with distinct (colour, kind) pairs on the cell grid.

    Each shape sits in its own cell of a ``GRID`` x ``GRID`` grid (cells of
    16 pixels in a 64-pixel image: the tiny model's ViT patches), with a
    random offset and size, and in its own column, so "left to right" is
    always clear.

    Args:
        rng (np.random.Generator): The random source.

    Returns:
        tuple: The shapes sorted left to right, and a background grey level.
    """
    n = int(rng.integers(1, 4))
    pairs = set()
    while len(pairs) < n:
        pairs.add((str(rng.choice(list(COLOURS))), str(rng.choice(KINDS))))
    cols = rng.choice(GRID, size=n, replace=False)
    rows = rng.integers(0, GRID, size=n)
    cell = BASE_SIZE / GRID
    shapes = []
    for (colour, kind), col, row in zip(sorted(pairs), cols, rows):
        size = str(rng.choice(list(SIZES)))
        r = float(rng.uniform(*SIZES[size]))
        dx, dy = rng.uniform(-JITTER, JITTER, size=2)
        shapes.append(Shape(kind, colour, size, float((col + 0.5) * cell + dx),
                            float((row + 0.5) * cell + dy), r))
    background = int(rng.integers(20, 90))
    return sorted(shapes, key=lambda s: s.x), background


def render_scene(shapes: Sequence[Shape], background: int,
                 image_size: int = BASE_SIZE) -> Image.Image:
    """Draw shapes anti-aliased (4x supersampling) on a grey background.

    Args:
        shapes (Sequence[Shape]): Shapes in 64x64-frame coordinates.
        background (int): Grey level 0-255.
        image_size (int): Output side in pixels; coordinates are scaled.

    Returns:
        PIL.Image.Image: An RGB image.
    """
    ss = 4
    scale = image_size * ss / BASE_SIZE
    canvas = Image.new('RGB', (image_size * ss, ) * 2, (background, ) * 3)
    draw = ImageDraw.Draw(canvas)
    for s in shapes:
        x, y, r, fill = s.x * scale, s.y * scale, s.r * scale, COLOURS[
            s.colour]
        if s.kind == 'circle':
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
        elif s.kind == 'square':
            h = r * 0.88  # equal area-ish with the circle
            draw.rectangle([x - h, y - h, x + h, y + h], fill=fill)
        elif s.kind == 'triangle':
            draw.polygon([(x, y - r), (x + r * 1.05, y + r * 0.8),
                          (x - r * 1.05, y + r * 0.8)], fill=fill)
        elif s.kind == 'cross':
            t = r * 0.36
            draw.rectangle([x - r, y - t, x + r, y + t], fill=fill)
            draw.rectangle([x - t, y - r, x + t, y + r], fill=fill)
        else:
            raise ValueError(f'Unknown shape kind {s.kind!r}; use one of '
                             f'{KINDS}.')
    return canvas.resize((image_size, image_size), Image.LANCZOS)


def demo_scene(image_size: Optional[int] = 256) -> Image.Image:
    """The demo image: a small red circle left, a large blue square right."""
    shapes = [Shape('circle', 'red', 'small', 8.5, 23.5, 4.0),
              Shape('square', 'blue', 'large', 40.0, 41.0, 6.5)]
    return render_scene(shapes, 50, image_size or BASE_SIZE)
