import { encodePng } from './png.js';
import type { TrayIcon } from './tray-model.js';

/**
 * The tray icon for each state, drawn in code as a PNG: a coloured disc with a white mark, so the state
 * reads without colour too (check = protecting, "!" = attention, bar = blocked, hollow ring = off).
 */

type Rgb = readonly [number, number, number];

export const ICON_COLORS: Record<TrayIcon, Rgb> = {
  ok: [0x1f, 0x9d, 0x55],
  attention: [0xd9, 0x77, 0x06],
  blocked: [0xdc, 0x26, 0x26],
  off: [0x6b, 0x72, 0x80],
};

interface Segment { x1: number; y1: number; x2: number; y2: number; width: number }

/** The white marks in unit coordinates (0..1, y down). */
const MARKS: Record<TrayIcon, { segments: Segment[]; dots: Array<{ x: number; y: number; r: number }>; hole?: number }> = {
  ok: { segments: [{ x1: 0.29, y1: 0.52, x2: 0.44, y2: 0.67, width: 0.1 }, { x1: 0.44, y1: 0.67, x2: 0.72, y2: 0.36, width: 0.1 }], dots: [] },
  attention: { segments: [{ x1: 0.5, y1: 0.25, x2: 0.5, y2: 0.55, width: 0.11 }], dots: [{ x: 0.5, y: 0.73, r: 0.07 }] },
  blocked: { segments: [{ x1: 0.28, y1: 0.5, x2: 0.72, y2: 0.5, width: 0.12 }], dots: [] },
  off: { segments: [], dots: [], hole: 0.28 },
};

const DISC_RADIUS = 0.47;
/** Samples per pixel side: 4×4 supersampling gives smooth edges at 16 px. */
const SUPERSAMPLE = 4;

/** RGBA pixels of the icon at `size`×`size`. */
export function drawTrayIcon(icon: TrayIcon, size: number): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const [r, g, b] = ICON_COLORS[icon];
  const mark = MARKS[icon];
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let red = 0, green = 0, blue = 0, alpha = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const x = (px + (sx + 0.5) / SUPERSAMPLE) / size;
          const y = (py + (sy + 0.5) / SUPERSAMPLE) / size;
          const fromCenter = Math.hypot(x - 0.5, y - 0.5);
          if (fromCenter > DISC_RADIUS || (mark.hole !== undefined && fromCenter < mark.hole)) continue;
          const white = mark.segments.some((s) => distanceToSegment(x, y, s) <= s.width / 2) || mark.dots.some((d) => Math.hypot(x - d.x, y - d.y) <= d.r);
          red += white ? 255 : r;
          green += white ? 255 : g;
          blue += white ? 255 : b;
          alpha += 1;
        }
      }
      const offset = (py * size + px) * 4;
      if (alpha === 0) continue;
      pixels[offset] = Math.round(red / alpha);
      pixels[offset + 1] = Math.round(green / alpha);
      pixels[offset + 2] = Math.round(blue / alpha);
      pixels[offset + 3] = Math.round((alpha / (SUPERSAMPLE * SUPERSAMPLE)) * 255);
    }
  }
  return pixels;
}

/** The icon as PNG bytes, for Electron's nativeImage.createFromBuffer. */
export function trayIconPng(icon: TrayIcon, size = 32): Buffer {
  return encodePng(size, size, drawTrayIcon(icon, size));
}

function distanceToSegment(x: number, y: number, s: Segment): number {
  const dx = s.x2 - s.x1;
  const dy = s.y2 - s.y1;
  const lengthSquared = dx * dx + dy * dy;
  const t = lengthSquared === 0 ? 0 : Math.max(0, Math.min(1, ((x - s.x1) * dx + (y - s.y1) * dy) / lengthSquared));
  return Math.hypot(x - (s.x1 + t * dx), y - (s.y1 + t * dy));
}
