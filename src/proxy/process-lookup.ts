import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';

/**
 * Which program opened a loopback connection to the proxy, so app governance can go by executable
 * rather than only by a User-Agent the app chooses. Linux reads /proc (the socket's inode, then the
 * process holding it); macOS asks lsof. Elsewhere, or when the OS will not say, undefined.
 */
export async function processForLoopbackClient(clientPort: number, proxyPort: number, platform: NodeJS.Platform = process.platform): Promise<string | undefined> {
  try {
    if (platform === 'linux') return await linuxProcess(clientPort, proxyPort);
    if (platform === 'darwin') return await macProcess(clientPort, proxyPort);
  } catch {
    // Lookup is best effort: a vanished process or an unreadable /proc entry just means "unknown".
  }
  return undefined;
}

async function linuxProcess(clientPort: number, proxyPort: number): Promise<string | undefined> {
  const inode = await socketInode(clientPort, proxyPort);
  if (!inode) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = await fs.readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      const link = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (link === target) return (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    }
  }
  return undefined;
}

/** The inode of the client's end: local = 127.0.0.1:clientPort (or ::1), remote port = the proxy's. */
async function socketInode(clientPort: number, proxyPort: number): Promise<string | undefined> {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await fs.readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const remote = cols[2];
      if (local?.endsWith(`:${hex(clientPort)}`) && remote?.endsWith(`:${hex(proxyPort)}`)) return cols[9];
    }
  }
  return undefined;
}

function macProcess(clientPort: number, proxyPort: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('lsof', ['-nP', `-iTCP@127.0.0.1:${clientPort}`, '-sTCP:ESTABLISHED', '-Fcn'], { timeout: 2000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      // -F output: p<pid>, c<command>, n<addr>; pick the process whose address has the proxy as remote end.
      let command: string | undefined;
      for (const line of stdout.split('\n')) {
        if (line.startsWith('c')) command = line.slice(1);
        if (line.startsWith('n') && line.endsWith(`->127.0.0.1:${proxyPort}`)) return resolve(command);
      }
      resolve(undefined);
    });
  });
}
