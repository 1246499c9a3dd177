import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADA_KEY, startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { connectWrapped, FIXTURE_SERVER } from './support.js';

interface AdminDevices { devices: Array<{ mcp_servers_seen: Array<{ name: string; transport?: string; target?: string; tools?: string[] }> }> }

describe('wrapped MCP servers reach the Edge Control inventory', () => {
  let fixture: ControlFixture;
  let edge: EdgeProcess;

  beforeAll(async () => {
    fixture = await startControlFixture();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-heartbeat-'));
    edge = await startEdgeProcess({
      dataDir,
      config: {
        gateway: { url: fixture.standin.url, virtualKey: ADA_KEY.value },
        // The shortest heartbeat the configuration allows.
        control: { url: fixture.server.url, enrollment: 'virtual_key', heartbeatSeconds: 10 },
      },
    });
  });
  afterAll(async () => {
    await edge?.stop();
    await fixture?.close();
  });

  it('the next heartbeat lists the server the wrapper ran, with its command line and tools', async () => {
    const wrapped = await connectWrapped({ name: 'github', dataDir: edge.dataDir, callsFile: path.join(edge.dataDir, 'calls.jsonl') });
    try {
      // Whatever the key allows (Ada's enables no MCP client), the agent has now seen the server and its tools.
      await wrapped.client.listTools();
    } finally {
      await wrapped.close();
    }
    const seen = await waitFor(async () => {
      const { json } = await fixture.admin('GET', '/api/edge/v1/admin/devices');
      return (json as AdminDevices).devices.flatMap((d) => d.mcp_servers_seen).find((s) => s.name === 'github');
    }, 25_000, 'a heartbeat carrying the wrapped server');
    expect(seen).toMatchObject({ transport: 'stdio', target: `${process.execPath} ${FIXTURE_SERVER}`, tools: ['echo', 'add', 'delete_repo'] });
  }, 40_000);
});
