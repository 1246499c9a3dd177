import type { MenuItemConstructorOptions } from 'electron';
import type { MenuItemModel, TrayAction } from '../src/tray/tray-model.js';

/** The tray menu model as Electron menu items; the shell decides nothing here, it only maps. */
export function menuTemplate(menu: readonly MenuItemModel[], onAction: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return menu.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'info':
        return { id: item.id, label: item.label, enabled: false };
      case 'action':
        return { id: item.id, label: item.label, enabled: item.enabled, click: () => onAction(item.id) };
    }
  });
}
