import { describe, expect, it, vi } from 'vitest';
import { menuTemplate } from '../../main/electron-menu.js';
import { trayModel } from '../../src/tray/tray-model.js';
import { statusFixture } from './fixtures.js';

describe('Electron menu template from the tray model', () => {
  it('info lines are disabled, separators stay separators, actions call back with their id', () => {
    const onAction = vi.fn();
    const model = trayModel({ status: statusFixture(), reachable: true, signedIn: false, signInAvailable: true });
    const template = menuTemplate(model.menu, onAction);
    expect(template).toHaveLength(model.menu.length);
    expect(template[0]).toEqual({ id: 'status', label: 'Protecting AI traffic', enabled: false });
    expect(template.filter((t) => t.type === 'separator')).toHaveLength(model.menu.filter((m) => m.kind === 'separator').length);
    const signIn = template.find((t) => t.id === 'sign-in');
    expect(signIn).toMatchObject({ label: 'Sign in…', enabled: true });
    (signIn!.click as () => void)();
    template.find((t) => t.id === 'quit')!.click!({} as never, undefined, {} as never);
    expect(onAction.mock.calls).toEqual([['sign-in'], ['quit']]);
  });
});
