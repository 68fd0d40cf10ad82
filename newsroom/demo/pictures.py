"""Photographs for the demo newsroom, drawn with Pillow: landscapes, towns and coasts.

Each picture has its own seeded generator, so picture k is the same bytes on every run.
"""

import io
import math
import random
import re

from PIL import Image as PillowImage
from PIL import ImageChops, ImageDraw, ImageFilter

# --- Pictures ------------------------------------------------------------------------------------

PICTURE_COUNT = 30
PICTURE_SIZE = WIDTH, HEIGHT = 1600, 1067
# Pool pictures are stored as demo-NN.jpeg; the number tells which pool picture a row holds.
PICTURE_NAME = re.compile(r"(?:^|/)demo-(\d{2})(?:_\w+)?\.jpe?g$")
PICTURE_KINDS = ["mountains", "town", "lake", "steppe", "city", "village", "coast"]
# Light by time of day: sky at the zenith and at the horizon, the sun or moon (None: hidden by
# cloud), the colour of nearby land, whether windows are lit, and how the alt text says it.
LIGHTS = {
    "dawn": ((58, 72, 130), (247, 176, 120), (255, 226, 170), (74, 64, 86), True, "at dawn"),
    "morning": (
        (86, 146, 214),
        (206, 228, 240),
        (255, 250, 225),
        (70, 112, 70),
        False,
        "on a clear morning",
    ),
    "noon": (
        (40, 106, 198),
        (172, 212, 240),
        (255, 255, 240),
        (104, 126, 66),
        False,
        "under a bright midday sky",
    ),
    "overcast": (
        (120, 128, 140),
        (196, 200, 204),
        None,
        (78, 92, 86),
        False,
        "under a low grey sky",
    ),
    "dusk": ((38, 36, 90), (238, 124, 86), (255, 196, 120), (50, 38, 60), True, "at dusk"),
    "night": ((6, 10, 30), (34, 48, 92), (236, 236, 220), (14, 18, 34), True, "by moonlight"),
    "winter": (
        (146, 168, 196),
        (228, 234, 240),
        (250, 250, 250),
        (178, 186, 196),
        False,
        "on a winter afternoon",
    ),
}
PHOTOGRAPHERS = [
    ("Highland Courier", "Staff photo"),
    ("Tamar Lomidze", "CC BY 4.0"),
    ("Arman Melikyan", "Courtesy of the photographer"),
    ("Gunel Rzayeva", "CC BY 4.0"),
    ("Highland Courier", "Staff photo"),
    ("Emre Arslan", "All rights reserved, used with permission"),
    ("Saule Omarova", "CC BY-SA 4.0"),
]


def mix(a, b, t):
    """The colour a fraction `t` of the way from `a` to `b`."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def ridge(rng, base_y, amplitude, roughness, peaks=False, steps=8):
    """A skyline across the picture by midpoint displacement, as a list of points.

    High roughness gives jagged mountains, low roughness rolling hills; `peaks` folds the heights
    upwards into sharp summits.
    """
    n = 2**steps
    heights = [0.0] * (n + 1)
    heights[0], heights[n] = rng.uniform(-amplitude, amplitude), rng.uniform(-amplitude, amplitude)
    step, amp = n, amplitude
    while step > 1:
        half = step // 2
        for i in range(half, n, step):
            heights[i] = (heights[i - half] + heights[i + half]) / 2 + rng.uniform(-amp, amp)
        step, amp = half, amp * roughness
    if peaks:
        heights = [-abs(h) * 1.4 for h in heights]
    return [(i * WIDTH / n, base_y + h) for i, h in enumerate(heights)]


def fill_below(draw, points, colour):
    draw.polygon([*points, (WIDTH, HEIGHT), (0, HEIGHT)], fill=colour)


def snow(draw, rng, points, snowline, colour):
    """Whiten the summits that rise above the snowline, the higher ones further down."""
    lowered = [
        (x, y + (snowline - y) * rng.uniform(0.35, 0.6) if y < snowline else y) for x, y in points
    ]
    draw.polygon([*points, *reversed(lowered)], fill=colour)


def sun(image, centre, radius, colour):
    """A sun or moon with a soft halo."""
    x, y = centre
    halo = PillowImage.new("L", image.size, 0)
    ImageDraw.Draw(halo).ellipse(
        [x - radius * 4, y - radius * 4, x + radius * 4, y + radius * 4], fill=90
    )
    image.paste(colour, mask=halo.filter(ImageFilter.GaussianBlur(radius * 2)))
    ImageDraw.Draw(image).ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)


def clouds(image, rng, colour, count, top, bottom):
    layer = PillowImage.new("L", image.size, 0)
    draw = ImageDraw.Draw(layer)
    opacity = rng.randint(60, 170)
    for _ in range(count):
        x, y = rng.uniform(-200, WIDTH), rng.uniform(top, bottom)
        for _ in range(rng.randint(3, 7)):
            dx, dy = rng.uniform(0, 260), rng.uniform(-25, 25)
            w, h = rng.uniform(120, 320), rng.uniform(30, 70)
            draw.ellipse([x + dx, y + dy, x + dx + w, y + dy + h], fill=opacity)
    image.paste(colour, mask=layer.filter(ImageFilter.GaussianBlur(18)))


def stars(draw, rng, horizon):
    for _ in range(rng.randint(150, 300)):
        x, y, r = rng.uniform(0, WIDTH), rng.uniform(0, horizon * 0.9), rng.choice((1, 1, 2))
        draw.ellipse([x, y, x + r, y + r], fill=(230, 232, 240))


def ripples(draw, rng, top, colour, count):
    """Short horizontal glints on water, longer towards the viewer."""
    for _ in range(count):
        x, y = rng.uniform(0, WIDTH), rng.uniform(top + 4, HEIGHT)
        length = rng.uniform(20, 140) * (0.3 + (y - top) / (HEIGHT - top))
        draw.line([(x, y), (x + length, y)], fill=colour, width=2)


def river(draw, rng, start_x, start_y, colour):
    """A river winding from the distance to the bottom edge, widening with perspective."""
    phase, swing = rng.uniform(0, math.tau), rng.uniform(120, 320)
    left, right = [], []
    for i in range(41):
        t = i / 40
        x = start_x + math.sin(phase + t * 5) * swing * t
        y = start_y + (HEIGHT - start_y) * t
        half_width = 3 + 260 * t * t
        left.append((x - half_width, y))
        right.append((x + half_width, y))
    draw.polygon([*left, *reversed(right)], fill=colour)


def ground_at(points, x, reach):
    return min(py for px, py in points if abs(px - x) < reach)


def buildings(draw, rng, points, colour, lit, count, max_height, towers):
    """Silhouettes standing on a ridge line, with pitched roofs, towers and lit windows."""
    for x in sorted(rng.uniform(WIDTH * 0.1, WIDTH * 0.9) for _ in range(count)):
        ground = ground_at(points, x, 40) + 12
        w, h = rng.uniform(30, 90), rng.uniform(max_height * 0.3, max_height)
        top = ground - h
        draw.rectangle([x, top, x + w, ground + 30], fill=colour)
        roof = rng.random()
        if roof < 0.35:
            draw.polygon([(x - 4, top), (x + w / 2, top - w * 0.45), (x + w + 4, top)], fill=colour)
        elif towers and roof < 0.45:
            draw.rectangle([x + w * 0.35, top - 70, x + w * 0.65, top], fill=colour)
            draw.polygon(
                [(x + w * 0.3, top - 70), (x + w / 2, top - 130), (x + w * 0.7, top - 70)],
                fill=colour,
            )
        if lit:
            for wy in range(int(top + 10), int(ground), 16):
                for wx in range(int(x + 6), int(x + w - 8), 14):
                    if rng.random() < 0.3:
                        draw.rectangle([wx, wy, wx + 5, wy + 7], fill=(255, 214, 140))


def conifers(draw, rng, points, colour, count):
    for _ in range(count):
        x = rng.uniform(0, WIDTH)
        ground, h = ground_at(points, x, 12) + 8, rng.uniform(30, 80)
        draw.polygon([(x - h * 0.22, ground), (x, ground - h), (x + h * 0.22, ground)], fill=colour)


def road(draw, rng, horizon, tarmac):
    """A straight road to the horizon with a dashed centre line and telegraph poles beside it."""
    vx, vy = rng.uniform(600, 1000), horizon + 14
    draw.polygon([(vx - 2, vy), (vx + 2, vy), (vx + 520, HEIGHT), (vx - 520, HEIGHT)], fill=tarmac)
    for i in range(12):
        t0, t1 = (i / 12) ** 2, ((i + 0.5) / 12) ** 2
        y0, y1 = vy + (HEIGHT - vy) * t0, vy + (HEIGHT - vy) * t1
        draw.polygon(
            [
                (vx - 1 - 8 * t0, y0),
                (vx + 1 + 8 * t0, y0),
                (vx + 1 + 8 * t1, y1),
                (vx - 1 - 8 * t1, y1),
            ],
            fill=(226, 214, 160),
        )
    side = rng.choice((-1, 1))
    for i in range(1, 9):
        t = (i / 8) ** 2
        x, y = vx + side * (12 + 700 * t), vy + (HEIGHT - vy) * t
        h = 10 + 330 * t
        draw.line([(x, y), (x, y - h)], fill=(40, 36, 34), width=max(1, round(8 * t)))
        draw.line(
            [(x - h * 0.12, y - h * 0.9), (x + h * 0.12, y - h * 0.9)],
            fill=(40, 36, 34),
            width=max(1, round(5 * t)),
        )


def photographic(image, rng):
    """What makes a drawing read as a photograph: lens softness, a vignette and film grain."""
    image = image.filter(ImageFilter.GaussianBlur(1.1))
    vignette = PillowImage.radial_gradient("L").resize(image.size)
    vignette = vignette.point(lambda v: min(255, max(0, round((v - 90) * 1.1))))
    image = PillowImage.composite(PillowImage.eval(image, lambda v: v * 0.55), image, vignette)
    # Grain from our own generator (Pillow's effect_noise is not seeded), about ±12 levels.
    grain = PillowImage.frombytes("L", image.size, rng.randbytes(WIDTH * HEIGHT))
    grain = grain.point(lambda v: 116 + v // 10).convert("RGB")
    return ImageChops.add(image, grain, scale=1, offset=-128)


def draw_picture(k):
    """Pool picture number `k`: (JPEG bytes, alt text, kind). The same `k` draws the same picture.

    Kinds cycle, and the light is chosen so that no two pictures share kind and light; that also
    keeps their alt texts distinct.
    """
    rng = random.Random(f"highland-courier-picture-{k}")
    kind = PICTURE_KINDS[k % len(PICTURE_KINDS)]
    light = list(LIGHTS)[(k * 3 + k // len(PICTURE_KINDS)) % len(LIGHTS)]
    zenith, sky_low, orb, near, lit, when = LIGHTS[light]
    # A small shift of hue per picture, so two dusks are not the same dusk.
    shift = [rng.randint(-14, 14) for _ in range(3)]
    zenith = tuple(max(0, min(255, c + 2 * s)) for c, s in zip(zenith, shift, strict=True))
    near = tuple(max(0, min(255, c + s)) for c, s in zip(near, shift, strict=True))
    far = mix(near, sky_low, 0.62)  # Aerial perspective: distant land fades into the sky.
    water = mix(sky_low, zenith, 0.35)
    glint = mix(water, (255, 255, 255), 0.3)
    horizon = rng.uniform(0.42, 0.62) * HEIGHT

    mask = PillowImage.linear_gradient("L").resize(PICTURE_SIZE)
    image = PillowImage.composite(
        PillowImage.new("RGB", PICTURE_SIZE, sky_low),
        PillowImage.new("RGB", PICTURE_SIZE, zenith),
        mask,
    )
    draw = ImageDraw.Draw(image)
    if light == "night":
        stars(draw, rng, horizon)
    if orb:
        sun(
            image,
            (rng.uniform(200, WIDTH - 200), horizon * rng.uniform(0.25, 0.8)),
            rng.uniform(26, 60),
            orb,
        )
    cloud_colour = (60, 66, 96) if light == "night" else mix(sky_low, (255, 255, 255), 0.5)
    clouds(
        image,
        rng,
        cloud_colour,
        rng.randint(2, 9) * (3 if light == "overcast" else 1),
        40,
        horizon * 0.8,
    )
    draw = ImageDraw.Draw(image)

    if kind == "mountains":
        peaks = ridge(rng, horizon, 190, 0.55, peaks=True)
        fill_below(draw, peaks, far)
        snow(draw, rng, peaks, horizon - 120, mix((245, 246, 250), sky_low, 0.25))
        fill_below(draw, ridge(rng, horizon + 40, 90, 0.5), mix(near, sky_low, 0.35))
        fill_below(draw, ridge(rng, horizon + 200, 60, 0.42), near)
        river(draw, rng, rng.uniform(500, 1100), horizon + 40, water)
        alt = f"Snow-capped ridges above a winding river {when}"
    elif kind == "town":
        fill_below(draw, ridge(rng, horizon - 40, 110, 0.5), far)
        hill = ridge(rng, horizon + 90, 70, 0.35)
        buildings(draw, rng, hill, mix(near, (0, 0, 0), 0.35), lit, 26, 110, towers=True)
        fill_below(draw, hill, near)
        fill_below(draw, ridge(rng, horizon + 330, 40, 0.3), mix(near, (0, 0, 0), 0.25))
        alt = f"A hilltop town {when}, with ranges fading behind it"
    elif kind == "lake":
        peaks = ridge(rng, horizon + 20, 170, 0.55, peaks=True)
        fill_below(draw, peaks, far)
        snow(draw, rng, peaks, horizon - 90, mix((245, 246, 250), sky_low, 0.25))
        shore = int(horizon + 60)
        fill_below(draw, ridge(rng, shore - 20, 25, 0.4), mix(near, sky_low, 0.3))
        # The reflection: everything above the shoreline mirrored below it, tinted and softened.
        mirrored = image.crop((0, 2 * shore - HEIGHT, WIDTH, shore))
        mirrored = mirrored.transpose(PillowImage.Transpose.FLIP_TOP_BOTTOM)
        mirrored = PillowImage.blend(mirrored, PillowImage.new("RGB", mirrored.size, water), 0.35)
        image.paste(mirrored.filter(ImageFilter.GaussianBlur(3)), (0, shore))
        draw = ImageDraw.Draw(image)
        ripples(draw, rng, shore, mix(water, (255, 255, 255), 0.25), 40)
        alt = f"Mountains reflected in a still lake {when}"
    elif kind == "steppe":
        horizon = max(horizon, HEIGHT * 0.55)
        fill_below(draw, ridge(rng, horizon, 18, 0.4), far)
        fill_below(draw, ridge(rng, horizon + 12, 6, 0.4), mix(near, sky_low, 0.15))
        road(draw, rng, horizon, (120, 124, 132) if light == "winter" else (72, 72, 76))
        alt = f"A straight road across open steppe {when}"
    elif kind == "city":
        fill_below(draw, ridge(rng, horizon - 30, 90, 0.45), far)
        skyline = ridge(rng, horizon + 120, 8, 0.3)
        city = mix(near, (0, 0, 0), 0.45)
        buildings(draw, rng, skyline, city, lit, 60, 260, towers=True)
        fill_below(draw, skyline, city)
        bank = int(horizon + 130)
        draw.rectangle([0, bank, WIDTH, HEIGHT], fill=water)
        ripples(draw, rng, bank, (255, 214, 140) if lit else glint, 60)
        alt = f"A city skyline seen across a river {when}"
    elif kind == "village":
        fill_below(draw, ridge(rng, horizon - 20, 80, 0.45), far)
        hills = ridge(rng, horizon + 110, 60, 0.3)
        buildings(draw, rng, hills, mix(near, (60, 40, 30), 0.4), lit, 10, 50, towers=False)
        fill_below(draw, hills, mix(near, sky_low, 0.12))
        front = ridge(rng, horizon + 260, 70, 0.3)
        forest = mix(near, (0, 30, 10), 0.45)
        conifers(draw, rng, front, forest, 140)
        fill_below(draw, front, forest)
        alt = f"A village among wooded hills {when}"
    else:  # coast
        sea = int(horizon)
        draw.rectangle([0, sea, WIDTH, HEIGHT], fill=water)
        ripples(draw, rng, sea, glint, 120)
        # A headland running down into the sea from one side, the left or the right.
        cut = rng.uniform(0.35, 0.6) * WIDTH
        headland = [
            (x, min(sea, y + max(0.0, x - cut) * 0.6))
            for x, y in ridge(rng, horizon - 130, 60, 0.45)
        ]
        if k % 2:
            headland = [(WIDTH - x, y) for x, y in reversed(headland)]
        draw.polygon(
            [*headland, (headland[-1][0], sea), (headland[0][0], sea)], fill=mix(near, sky_low, 0.3)
        )
        sand = mix((214, 196, 150), sky_low, 0.25)
        fill_below(
            draw,
            ridge(rng, HEIGHT - 150, 40, 0.3),
            mix(near, (0, 0, 0), 0.2) if light in ("dusk", "night") else sand,
        )
        alt = f"A coastline {when}, hills dropping to the sea"

    buffer = io.BytesIO()
    photographic(image, rng).save(buffer, "JPEG", quality=82, optimize=True)
    return buffer.getvalue(), alt, kind
