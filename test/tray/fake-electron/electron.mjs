// A recording stand-in for the parts of Electron that main/ uses. It reports what the shell does as JSON
// lines on stdout (tray renders, windows, notifications, dialogs) and takes commands as JSON lines on stdin
// ({"click":"open-status"}, {"clickNotification":0}, {"quit":true}), so a test drives the real main process.
import { EventEmitter } from 'node:events';
import readline from 'node:readline';

const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

let lastMenu = [];
const notifications = [];

class FakeApp extends EventEmitter {
  requestSingleInstanceLock() { return process.env.FAKE_ELECTRON_SECOND_INSTANCE !== '1'; }
  whenReady() { return Promise.resolve(); }
  setAppUserModelId(id) { report({ event: 'app-user-model-id', id }); }
  dock = { hide: () => report({ event: 'dock-hidden' }) };
  quit() {
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    this.emit('before-quit', event);
    if (event.defaultPrevented) { report({ event: 'quit-deferred' }); return; }
    report({ event: 'exit' });
    process.stdout.write('', () => process.exit(0));
  }
}

export const app = new FakeApp();

export const dialog = { showErrorBox: (title, content) => report({ event: 'error-box', title, content }) };

export const Menu = {
  buildFromTemplate(template) {
    lastMenu = template;
    return { template };
  },
};

export const nativeImage = {
  createFromBuffer(buffer, options) {
    return { png: buffer.subarray(1, 4).toString('ascii'), bytes: buffer.length, scaleFactor: options?.scaleFactor };
  },
};

export class Notification extends EventEmitter {
  static isSupported() { return true; }
  constructor(options) {
    super();
    this.options = options;
  }
  show() {
    notifications.push(this);
    report({ event: 'notification', title: this.options.title, body: this.options.body });
  }
}

export const safeStorage = {
  isEncryptionAvailable: () => false,
  encryptString: () => { throw new Error('not available'); },
  decryptString: () => { throw new Error('not available'); },
};

export const shell = { openExternal: async (url) => report({ event: 'open-external', url }) };

export class Tray extends EventEmitter {
  constructor(image) {
    super();
    this.image = image;
  }
  setImage(image) { this.image = image; }
  setToolTip(tooltip) { this.tooltip = tooltip; }
  setContextMenu(menu) {
    report({
      event: 'tray',
      image: this.image,
      tooltip: this.tooltip,
      menu: menu.template.map((item) => (item.type === 'separator' ? '---' : { id: item.id, label: item.label, enabled: item.enabled })),
    });
  }
}

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.webContents = Object.assign(new EventEmitter(), { setWindowOpenHandler: (handler) => { this.openHandler = handler; } });
    report({ event: 'window-created', title: options.title, width: options.width, height: options.height, webPreferences: options.webPreferences });
  }
  async loadURL(url) { report({ event: 'load-url', url }); }
  async loadFile(file) { report({ event: 'load-file', file }); }
  isMinimized() { return false; }
  restore() {}
  focus() { report({ event: 'window-focused', title: this.options.title }); }
  show() {}
  destroy() { this.emit('closed'); }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  if (command.click) {
    const item = lastMenu.find((i) => i.id === command.click);
    if (!item?.click) report({ event: 'no-such-menu-item', id: command.click });
    else item.click();
  }
  if (command.clickNotification !== undefined) notifications[command.clickNotification]?.emit('click');
  if (command.quit) app.quit();
  if (command.secondInstance) app.emit('second-instance');
});
