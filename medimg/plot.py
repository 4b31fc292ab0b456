"""Small figure helpers shared by the notebooks."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle


def show_images(images, titles=None, cmap="gray", size=3.0):
    """Show 2-D tensors side by side; returns the figure."""
    images = list(images)
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for i, (ax, im) in enumerate(zip(axes[0], images)):
        im = im.detach().cpu() if isinstance(im, torch.Tensor) else im
        ax.imshow(im, cmap=cmap)
        ax.set_axis_off()
        if titles:
            ax.set_title(titles[i])
    fig.tight_layout()
    return fig


def draw_boxes(ax, boxes, color="lime", labels=None, linewidth=1.5, alpha=1.0):
    """Draw (x1, y1, x2, y2) boxes on an axis, with optional text labels."""
    for i, b in enumerate(torch.as_tensor(boxes).tolist()):
        x1, y1, x2, y2 = b
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color,
                               linewidth=linewidth, alpha=alpha))
        if labels is not None:
            ax.text(x1, y1 - 1, str(labels[i]), color=color, fontsize=7, va="bottom")
