import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ICON_COLORS, trayIconPng } from '../../src/tray/tray-icon.js';
import type { TrayIcon } from '../../src/tray/tray-model.js';

/** Reads back what encodePng wrote: size and RGBA pixels (filter type 0 rows), checking every CRC. */
function decodePng(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => number[] } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0, height = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(png.readUInt32BE(offset + 8 + length)).toBe(zlib.crc32(png.subarray(offset + 4, offset + 8 + length)) >>> 0);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).toEqual([8, 6]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 4 + 1) * height);
  return { width, height, pixel: (x, y) => [...raw.subarray(y * (width * 4 + 1) + 1 + x * 4, y * (width * 4 + 1) + 1 + x * 4 + 4)] };
}

describe('tray icons', () => {
  const icons: TrayIcon[] = ['ok', 'attention', 'blocked', 'off'];

  it.each(icons)('%s: a valid PNG, transparent corners, the state colour on the disc', (icon) => {
    const png = decodePng(trayIconPng(icon, 32));
    expect([png.width, png.height]).toEqual([32, 32]);
    expect(png.pixel(0, 0)[3]).toBe(0);
    expect(png.pixel(31, 31)[3]).toBe(0);
    // Left edge of the disc, clear of the white mark.
    expect(png.pixel(3, 16)).toEqual([...ICON_COLORS[icon], 255]);
  });

  it('each state has its own mark in the middle (white), except "off", which is a hollow ring', () => {
    expect(decodePng(trayIconPng('blocked')).pixel(16, 16)).toEqual([255, 255, 255, 255]);
    expect(decodePng(trayIconPng('attention')).pixel(16, 12)).toEqual([255, 255, 255, 255]);
    expect(decodePng(trayIconPng('off')).pixel(16, 16)[3]).toBe(0);
    const images = icons.map((icon) => trayIconPng(icon).toString('base64'));
    expect(new Set(images).size).toBe(4);
  });

  it('draws at other sizes too', () => {
    expect(decodePng(trayIconPng('ok', 16)).width).toBe(16);
    expect(decodePng(trayIconPng('ok', 64)).height).toBe(64);
  });
});
