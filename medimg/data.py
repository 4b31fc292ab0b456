"""Synthetic medical images, generated from a seed: one data module for every notebook.

Nothing is downloaded. Images are float32 tensors in [0, 1] of shape (H, W);
boxes are (x1, y1, x2, y2) in pixels with x1 < x2 and y1 < y2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage


@dataclass
class LesionScan:
    image: torch.Tensor      # (H, W) float32 in [0, 1]
    masks: torch.Tensor      # (K, H, W) bool, one per lesion
    boxes: torch.Tensor      # (K, 4) float32, tight boxes around the masks
    malignant: torch.Tensor  # (K,) bool: irregular, darker-rimmed lesions


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """Soft anatomy: a bright elliptical body, smooth tissue texture, acquisition noise."""
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    body = ((xx / 0.46) ** 2 + (yy / 0.40) ** 2 < 1).astype(float)
    texture = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 24)
    texture = (texture - texture.min()) / (np.ptp(texture) + 1e-9)
    return 0.15 + 0.35 * body * (0.6 + 0.4 * texture)


def lesion_scan(size: int = 128, n_lesions: int = 3, seed: int = 0, noise: float = 0.03) -> LesionScan:
    """A scan with ``n_lesions`` bright ellipse or blob lesions inside the body."""
    rng = np.random.default_rng(seed)
    img = _background(size, rng)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    masks, boxes, malignant = [], [], []
    for _ in range(n_lesions):
        cy, cx = rng.uniform(0.3, 0.7, size=2) * size
        ry, rx = rng.uniform(0.04, 0.12, size=2) * size
        angle = rng.uniform(0, np.pi)
        bad = bool(rng.random() < 0.5)
        dy, dx = yy - cy, xx - cx
        u = (dx * np.cos(angle) + dy * np.sin(angle)) / rx
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) / ry
        r = np.sqrt(u ** 2 + v ** 2)
        if bad:  # irregular margin: radius modulated by a few random lobes
            theta = np.arctan2(v, u)
            r = r / (1 + 0.25 * np.sin(3 * theta + rng.uniform(0, 6)) + 0.1 * np.sin(7 * theta))
        mask = r < 1
        if not mask.any():
            continue
        img = np.where(mask, img + 0.35 + 0.1 * rng.random(), img)
        ys, xs = np.nonzero(mask)
        masks.append(mask)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        malignant.append(bad)
    img = img + rng.normal(scale=noise, size=img.shape)
    img = np.clip(img, 0, 1)
    return LesionScan(
        image=torch.from_numpy(img).float(),
        masks=torch.from_numpy(np.array(masks, dtype=bool).reshape(-1, size, size)),
        boxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        malignant=torch.tensor(malignant, dtype=torch.bool),
    )


def noisy_detections(boxes: torch.Tensor, per_box: int = 8, jitter: float = 0.08,
                     n_false: int = 4, size: int = 128, seed: int = 0):
    """A detector's raw output: several jittered copies of each true box plus a few false ones.

    Returns (boxes (M, 4) float32, scores (M,) float32 in (0, 1), source (M,) int64
    with the index of the true box each detection came from, -1 for false ones).
    """
    g = torch.Generator().manual_seed(seed)
    out, scores, source = [], [], []
    for i, b in enumerate(boxes):
        wh = (b[2:] - b[:2]).repeat(2)
        noise = (torch.rand(per_box, 4, generator=g) - 0.5) * 2 * jitter * wh
        out.append(b + noise)
        scores.append(0.5 + 0.5 * torch.rand(per_box, generator=g))
        source.append(torch.full((per_box,), i))
    xy = torch.rand(n_false, 2, generator=g) * size * 0.8
    wh = torch.rand(n_false, 2, generator=g) * size * 0.15 + 4
    out.append(torch.cat([xy, xy + wh], 1))
    scores.append(0.5 * torch.rand(n_false, generator=g))
    source.append(torch.full((n_false,), -1))
    det = torch.cat(out)
    det = torch.stack([det[:, 0].clamp(0, size - 1), det[:, 1].clamp(0, size - 1),
                       torch.maximum(det[:, 2], det[:, 0] + 1).clamp(max=size),
                       torch.maximum(det[:, 3], det[:, 1] + 1).clamp(max=size)], 1)
    return det.float(), torch.cat(scores).float(), torch.cat(source).long()


def phantom(size: int = 128) -> torch.Tensor:
    """The Shepp-Logan head phantom shipped with scikit-image, resized to (size, size)."""
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize
    return torch.from_numpy(resize(shepp_logan_phantom(), (size, size), anti_aliasing=True)).float()


# ---------------------------------------------------------------- 04_cnn_classifier

def lesion_patches(n: int, malignant_fraction: float = 0.2, size: int = 32, seed: int = 0):
    """``n`` patches, each centred (with jitter) on one lesion, for benign-vs-malignant classification.

    Benign lesions are smooth ellipses (at most a gentle two-lobed undulation); malignant ones have
    a lobulated, spiculated margin (5 to 9 lobes). Both sit on the textured tissue of
    :func:`lesion_scan`'s background with random size, elongation, orientation, position, contrast
    and noise level, so brightness and area alone hardly tell the classes apart: the margin does.
    Exactly ``round(n * malignant_fraction)`` patches are malignant, in random order.

    Returns (images (n, 1, size, size) float32 in [0, 1], labels (n,) int64: 1 = malignant).
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int64)
    labels[:int(round(n * malignant_fraction))] = 1
    labels = rng.permutation(labels)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    for i in range(n):
        tissue = _background(2 * size, rng)[size // 2:size // 2 + size, size // 2:size // 2 + size]
        cy, cx = size / 2 + rng.uniform(-0.12, 0.12, size=2) * size
        radius = rng.uniform(0.15, 0.27) * size
        elongation = np.sqrt(rng.uniform(1.0, 1.6))
        angle = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = (dx * np.cos(angle) + dy * np.sin(angle)) / (radius * elongation)
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) * elongation / radius
        theta = np.arctan2(v, u)
        if labels[i]:
            lobes = int(rng.integers(5, 10))
            margin = (1 + rng.uniform(0.18, 0.35) * np.sin(lobes * theta + rng.uniform(0, 2 * np.pi))
                      + 0.06 * np.sin((2 * lobes + 1) * theta + rng.uniform(0, 2 * np.pi)))
        else:
            margin = 1 + rng.uniform(0, 0.06) * np.sin(2 * theta + rng.uniform(0, 2 * np.pi))
        r = np.hypot(u, v) / margin
        inside = 1 / (1 + np.exp((r - 1) * radius / 0.7))          # a soft edge, about a pixel wide
        image = tissue + rng.uniform(0.15, 0.4) * inside + rng.normal(scale=rng.uniform(0.02, 0.06),
                                                                      size=(size, size))
        images[i, 0] = np.clip(image, 0, 1)
    return torch.from_numpy(images), torch.from_numpy(labels)
