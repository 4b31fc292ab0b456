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


# ---------------------------------------------------------------- 13_unet

# optical densities per unit of stain (Ruifrok and Johnston's colour deconvolution vectors, normalized):
# haematoxylin colours nuclei purple-blue, eosin colours cytoplasm and stroma pink
_HAEMATOXYLIN = np.array([0.650, 0.704, 0.286])
_EOSIN = np.array([0.072, 0.990, 0.105])


def nuclei_tiles(n: int, size: int = 64, seed: int = 0, return_instances: bool = False):
    """``n`` H&E-like pathology tiles with cell nuclei, and their masks, for segmentation.

    Each tile is drawn by the Beer-Lambert law from two stains: eosin (pink) everywhere, with a smooth
    fibrous texture and a few pale gaps, and haematoxylin (purple) in the nuclei. Nuclei are ellipses
    with wobbly margins, 2.4 to 5.4 pixels in radius (whatever the tile's size), some of them in clusters
    where they touch or overlap, with a coarse chromatin texture; some are pale (little stain) and some
    dark. A faint haematoxylin wash over part of the tissue, a few dark-pink red blood cells and small
    haematoxylin specks (debris, smaller than any nucleus) are not nuclei.
    Each tile has its own stain strengths and a slightly rotated stain colour (as between laboratories),
    then a little blur, uneven illumination and camera noise.

    Returns (images, masks): images (n, 3, size, size) float32 RGB in [0, 1]; masks (n, size, size)
    bool, True on nuclei. With ``return_instances=True`` also instances (n, size, size) int64: 0 on the
    background, k = 1, 2, ... on the k-th nucleus of the tile (where two overlap, the one drawn last).
    The same (n, size, seed) always give the same tiles; a tile does not depend on n.
    """
    rng_master = np.random.default_rng(seed)
    tile_seeds = rng_master.integers(0, 2 ** 63 - 1, size=n)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    instances = np.zeros((n, size, size), dtype=np.int64)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    for t in range(n):
        rng = np.random.default_rng(int(tile_seeds[t]))
        # eosin: smooth tissue with fibres and pale gaps
        tissue = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 10)
        fibres = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=(0.7, 3.0))
        fibres = ndimage.rotate(fibres, rng.uniform(0, 180), reshape=False, mode="reflect")
        eosin = 0.45 + 1.2 * tissue / (tissue.std() + 1e-9) * 0.12 + 0.25 * fibres / (fibres.std() + 1e-9) * 0.3
        gaps = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 8)
        eosin = eosin * np.clip(1.6 * (gaps / (gaps.std() + 1e-9)) + 2.2, 0.15, 1.0)
        # a faint haematoxylin wash over part of the tissue (basophilic cytoplasm, uneven staining)
        wash = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 6)
        haem = rng.uniform(0.0, 0.25) * np.clip(0.5 + wash / (wash.std() + 1e-9) * 0.4, 0, 1)
        labels = np.zeros((size, size), dtype=np.int64)
        # nuclei: clusters of touching ones and scattered single ones
        n_nuclei = int(rng.integers(8, 18) * (size / 64) ** 2) + 2
        chromatin = 1 + 0.7 * ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=0.8)
        centres = []
        for _ in range(n_nuclei):
            if centres and rng.random() < 0.35:        # a neighbour of an earlier nucleus: they touch
                cy, cx, r0 = centres[int(rng.integers(len(centres)))]
                angle = rng.uniform(0, 2 * np.pi)
                dist = r0 * rng.uniform(1.4, 2.0)
                cy, cx = cy + dist * np.sin(angle), cx + dist * np.cos(angle)
            else:
                cy, cx = rng.uniform(-0.05, 1.05, size=2) * size
            radius = rng.uniform(2.4, 5.4)
            centres.append((cy, cx, radius))
            elong = np.sqrt(rng.uniform(1.0, 2.2))
            theta = rng.uniform(0, np.pi)
            reach = radius * elong * 1.2 + 1                      # the nucleus lies inside this window
            win = (slice(max(0, int(cy - reach)), max(0, int(cy + reach) + 2)),
                   slice(max(0, int(cx - reach)), max(0, int(cx + reach) + 2)))
            dy, dx = yy[win] - cy, xx[win] - cx
            u = (dx * np.cos(theta) + dy * np.sin(theta)) / (radius * elong)
            v = (-dx * np.sin(theta) + dy * np.cos(theta)) * elong / radius
            phi = np.arctan2(v, u)
            wobble = 1 + 0.08 * np.sin(3 * phi + rng.uniform(0, 6.3)) + 0.05 * np.sin(5 * phi + rng.uniform(0, 6.3))
            inside = np.hypot(u, v) < wobble
            if not inside.any():
                continue
            labels[win][inside] = len(centres)
            strength = rng.choice([rng.uniform(0.5, 0.7), rng.uniform(0.75, 1.3)], p=[0.25, 0.75])
            haem[win][inside] = strength * chromatin[win][inside]
        # red blood cells (dark pink discs) and haematoxylin specks: not nuclei
        for _ in range(int(rng.integers(0, 4))):
            cy, cx = rng.uniform(0, size, size=2)
            r = rng.uniform(1.9, 2.9)
            disc = np.hypot(yy - cy, xx - cx) < r
            eosin = np.where(disc & (labels == 0), eosin + rng.uniform(0.6, 1.0), eosin)
        for _ in range(int(rng.integers(4, 12) * (size / 64) ** 2)):
            cy, cx = rng.uniform(0, size, size=2)
            speck = np.hypot(yy - cy, xx - cx) < rng.uniform(0.6, 1.5)
            haem = np.where(speck & (labels == 0), rng.uniform(0.4, 0.9), haem)
        # staining of this tile: amounts and a slightly rotated colour of each stain
        h_vec = _HAEMATOXYLIN + rng.normal(scale=0.05, size=3)
        e_vec = _EOSIN + rng.normal(scale=0.05, size=3)
        h_vec, e_vec = np.abs(h_vec) / np.linalg.norm(h_vec), np.abs(e_vec) / np.linalg.norm(e_vec)
        h_amount, e_amount = rng.uniform(0.7, 1.6), rng.uniform(0.25, 0.6)
        density = (h_amount * np.clip(haem, 0, None)[..., None] * h_vec
                   + e_amount * np.clip(eosin, 0.02, None)[..., None] * e_vec)
        rgb = np.exp(-density)
        rgb = ndimage.gaussian_filter(rgb, sigma=(0.7, 0.7, 0))
        light = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 3)
        light = 1 + 0.06 * light / (light.std() + 1e-9)                 # uneven illumination
        rgb = rgb * rng.uniform(0.85, 1.0) * light[..., None] + rng.normal(scale=0.025, size=rgb.shape)
        images[t] = np.clip(rgb, 0, 1).transpose(2, 0, 1)
        # renumber the nuclei that are visible 1, 2, ...
        present = np.unique(labels[labels > 0])
        lookup = np.zeros(labels.max() + 1, dtype=np.int64)
        lookup[present] = np.arange(1, len(present) + 1)
        instances[t] = lookup[labels]
    out = (torch.from_numpy(images), torch.from_numpy(instances > 0))
    return out + (torch.from_numpy(instances),) if return_instances else out


# ---------------------------------------------------------------- 17_tracking

@dataclass
class CellSequence:
    frames: torch.Tensor | None   # (T, H, W) float32 in [0, 1], or None when made without images
    ids: list                     # per frame: (n,) int64, the cells' ids (1, 2, ...)
    boxes: list                   # per frame: (n, 4) float64, their true boxes
    visible: list                 # per frame: (n,) bool, False while a cell is out of focus


def moving_cells(n_frames: int = 40, n_lanes: int = 5, crossing_lanes: int = 2, occlusions: int = 3,
                 size: int = 128, seed: int = 0, noise: float = 0.04, images: bool = True) -> CellSequence:
    """A time-lapse microscopy sequence: bright round cells drifting at constant velocity (with a
    little jitter) along horizontal lanes 20 px apart. In ``crossing_lanes`` of the lanes two cells
    move towards each other and cross near the middle of the sequence (a few pixels apart
    vertically, so they overlap); in the others one cell drifts alone (no trajectory crosses
    another). ``occlusions`` cells go out of focus for 2 to 4 frames: they stay in the ground truth
    (``visible`` False) but are not drawn. Every cell stays inside the field of view."""
    rng = np.random.default_rng(seed)
    n_lanes = min(n_lanes, (size - 8) // 20)
    lanes = 14.0 + 20.0 * np.arange(n_lanes)
    crossing = set(rng.choice(n_lanes, size=min(crossing_lanes, n_lanes), replace=False).tolist())
    cells = []          # (start x, start y, vx, vy, radius, brightness)
    for lane, y in enumerate(lanes):
        r = rng.uniform(3.5, 5.0)
        if lane in crossing:
            speed = rng.uniform(1.6, 2.4)
            meet, dy = size / 2 + rng.uniform(-8, 8), rng.uniform(2.0, 3.5)
            for sign, offset in ((1, -dy / 2), (-1, dy / 2)):
                x0 = meet - sign * speed * n_frames / 2
                cells.append((x0, y + offset, sign * speed, rng.uniform(-0.03, 0.03), r * rng.uniform(0.9, 1.1),
                              rng.uniform(0.6, 0.9)))
        else:
            vx = rng.choice([-1, 1]) * rng.uniform(0.6, 1.5)
            x0 = size / 2 - vx * n_frames / 2 + rng.uniform(-10, 10)
            cells.append((x0, y, vx, rng.uniform(-0.05, 0.05), r, rng.uniform(0.6, 0.9)))
    hidden = np.zeros((n_frames, len(cells)), dtype=bool)
    for c in rng.choice(len(cells), size=min(occlusions, len(cells)), replace=False):
        start = int(rng.integers(5, max(6, n_frames - 8)))
        hidden[start:start + int(rng.integers(2, 5)), c] = True
    ids, boxes, visible = [], [], []
    frames = np.zeros((n_frames, size, size), dtype=np.float32) if images else None
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    for t in range(n_frames):
        rows = []
        for x0, y0, vx, vy, r, _ in cells:
            cx = float(np.clip(x0 + vx * t + rng.normal(scale=0.15), r + 1, size - r - 1))
            cy = float(np.clip(y0 + vy * t + rng.normal(scale=0.15), r + 1, size - r - 1))
            rows.append([cx - r, cy - r, cx + r, cy + r])
        ids.append(torch.arange(1, len(cells) + 1, dtype=torch.int64))
        boxes.append(torch.tensor(rows, dtype=torch.float64).reshape(-1, 4))
        visible.append(torch.from_numpy(~hidden[t]))
        if images:
            img = 0.1 + 0.03 * ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=6)
            for (x1, y1, x2, y2), (*_, r, bright), shown in zip(rows, cells, ~hidden[t]):
                if shown:
                    d = np.hypot(xx - (x1 + x2) / 2, yy - (y1 + y2) / 2)
                    img = img + bright / (1 + np.exp((d - r) / 0.6))          # a soft-edged disc
            frames[t] = np.clip(img + rng.normal(scale=noise, size=img.shape), 0, 1)
    return CellSequence(None if frames is None else torch.from_numpy(frames), ids, boxes, visible)


def cell_detections(seq: CellSequence, jitter: float = 0.3, seed: int = 0) -> list:
    """A detector's output on each frame of ``seq``: the visible cells' boxes, jittered by
    ``jitter`` pixels, in a random order. Returns per frame a (D, 4) float64 tensor."""
    rng = np.random.default_rng(seed)
    out = []
    for boxes, shown in zip(seq.boxes, seq.visible):
        b = boxes[shown].numpy()
        b = b + rng.normal(scale=jitter, size=b.shape)
        out.append(torch.from_numpy(b[rng.permutation(len(b))]).reshape(-1, 4))
    return out


# ---------------------------------------------------------------- 15_yolo

FINDING_CLASSES = ("nodule", "mass")      # a mass is a finding of 30 mm or more across


@dataclass
class ChestXray:
    image: torch.Tensor      # (H, W) float32 in [0, 1]
    boxes: torch.Tensor      # (K, 4) float32 (x1, y1, x2, y2), tight around each finding
    labels: torch.Tensor     # (K,) int64: 0 nodule (< 30 mm), 1 mass (>= 30 mm)


def chest_xray(size: int = 224, n_findings: int = 3, seed: int = 0, mm_per_pixel: float = 1.6) -> ChestXray:
    """A frontal chest radiograph: dark lung fields, the bright mediastinum and spine, rib shadows,
    and ``n_findings`` round opacities inside the lungs, nodules and masses (30 mm and more)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(float) / size
    lungs = np.zeros((size, size), dtype=bool)
    for side in (0.29, 0.71):
        lungs |= ((xx - side) / 0.17) ** 2 + ((yy - 0.5) / 0.34) ** 2 < 1
    img = np.where(lungs, 0.22, 0.62)
    img = img + 0.18 * np.exp(-((xx - 0.5) / 0.06) ** 2)                    # spine and mediastinum
    ribs = np.cos(2 * np.pi * (yy * 9 + 2.5 * (xx - 0.5) ** 2)) > 0.55
    img = img + 0.08 * (ribs & lungs)
    img = ndimage.gaussian_filter(img, sigma=size / 110)
    img = img + 0.05 * ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 40) * 8
    boxes, labels = [], []
    for _ in range(n_findings):
        diameter_mm = rng.choice([rng.uniform(8, 28), rng.uniform(32, 60)], p=[0.65, 0.35])
        r = diameter_mm / mm_per_pixel / 2
        for _ in range(50):                                               # a centre inside a lung
            cx, cy = rng.uniform(0.15, 0.85) * size, rng.uniform(0.2, 0.8) * size
            if lungs[int(cy), int(cx)] and all(abs(cx - (b[0] + b[2]) / 2) > r + 4
                                               or abs(cy - (b[1] + b[3]) / 2) > r + 4
                                               for b in boxes):
                break
        d = np.sqrt((xx * size - cx) ** 2 + (yy * size - cy) ** 2) / r
        img = img + 0.3 * np.clip(1.2 - d ** 2, 0, 1) ** 0.7
        boxes.append([max(cx - r, 0.0), max(cy - r, 0.0), min(cx + r, size), min(cy + r, size)])
        labels.append(int(diameter_mm >= 30))
    img = np.clip(img + rng.normal(scale=0.02, size=img.shape), 0, 1)
    return ChestXray(image=torch.from_numpy(img).float(),
                     boxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                     labels=torch.tensor(labels, dtype=torch.int64))
