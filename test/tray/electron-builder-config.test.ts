import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
// js-yaml is what electron-builder itself reads its YAML config with (a dependency of app-builder-lib).
const yaml = require('js-yaml') as { load(text: string): unknown };

interface BuilderConfig {
  appId: string;
  productName: string;
  directories: { output: string; buildResources: string };
  files: string[];
  extraMetadata: { main: string };
  asarUnpack: string[];
  extraResources: Array<{ from: string; to: string }>;
  mac: { target: string[]; hardenedRuntime: boolean; extendInfo: Record<string, unknown> };
  win: { target: string[] };
  nsis: { oneClick: boolean; perMachine: boolean };
  linux: { target: string[] };
}

const config = yaml.load(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main?: string; dependencies: Record<string, string> };

describe('electron-builder.yml', () => {
  it("passes electron-builder's own configuration validation (its JSON schema)", async () => {
    const { validateConfiguration } = require(path.join(root, 'node_modules', 'app-builder-lib', 'out', 'util', 'config', 'config.js')) as {
      validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(): void }): Promise<void>;
    };
    await expect(validateConfiguration(structuredClone(config), { isEnabled: false, add: () => undefined })).resolves.toBeUndefined();
  });

  it('identifies the app', () => {
    expect(config.appId).toBe('com.bifrost.edge');
    expect(config.productName).toBe('Bifrost Edge');
  });

  it('macOS: dmg and pkg, hardened runtime, a menu-bar app without a Dock icon', () => {
    expect(config.mac.target).toEqual(['dmg', 'pkg']);
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.extendInfo.LSUIElement).toBe(true);
  });

  it('Windows: an NSIS installer for all users with a choice of folder (not one-click)', () => {
    expect(config.win.target).toEqual(['nsis']);
    expect(config.nsis.oneClick).toBe(false);
    expect(config.nsis.perMachine).toBe(true);
  });

  it('Linux: deb and AppImage', () => {
    expect(config.linux.target).toEqual(['deb', 'AppImage']);
  });

  it("packs the compiled app, the pages, package.json and node_modules; keeps better-sqlite3's native module outside the asar", () => {
    for (const pattern of ['dist/**', 'renderer/**', 'package.json', 'node_modules/**']) expect(config.files).toContain(pattern);
    expect(config.asarUnpack).toContain('node_modules/better-sqlite3/**');
    expect(Object.keys(packageJson.dependencies)).toContain('better-sqlite3');
  });

  it('starts the Electron main process that main/main.ts compiles to', () => {
    expect(config.extraMetadata.main).toBe('dist/main/main.js');
    expect(packageJson.main).toBe(config.extraMetadata.main);
    expect(fs.existsSync(path.join(root, 'main', 'main.ts'))).toBe(true);
    // The global setup compiled the project before this test ran.
    expect(fs.existsSync(path.join(root, config.extraMetadata.main))).toBe(true);
  });

  it('every file and folder it refers to exists', () => {
    for (const page of ['status.html', 'activity.html', 'notice.html', 'unavailable.html', 'style.css']) {
      expect(fs.existsSync(path.join(root, 'renderer', page)), `renderer/${page}`).toBe(true);
    }
    for (const resource of config.extraResources) expect(fs.statSync(path.join(root, resource.from)).isDirectory(), resource.from).toBe(true);
    expect(fs.existsSync(path.join(root, 'node_modules', 'better-sqlite3'))).toBe(true);
  });

  it('has an app icon electron-builder can turn into icns/ico (a PNG of at least 512×512)', () => {
    const icon = fs.readFileSync(path.join(root, config.directories.buildResources, 'icon.png'));
    expect(icon.subarray(1, 4).toString('ascii')).toBe('PNG');
    const ihdr = icon.subarray(16, 24);
    expect(ihdr.readUInt32BE(0)).toBeGreaterThanOrEqual(512);
    expect(ihdr.readUInt32BE(4)).toBe(ihdr.readUInt32BE(0));
    expect(zlib.crc32(icon.subarray(12, 29)) >>> 0).toBe(icon.readUInt32BE(29));
  });
});
