import type { AgentStatus, Notice, PolicyStatus } from '../../src/tray/agent-status.js';

export const NOW = new Date('2025-06-01T12:00:00.000Z');

type PolicyOverrides = Partial<Omit<PolicyStatus, 'policy' | 'connectivity' | 'user'>> & {
  policy?: Partial<NonNullable<PolicyStatus['policy']>> | null;
  connectivity?: Partial<PolicyStatus['connectivity']>;
  user?: Partial<PolicyStatus['user']>;
};

/** A healthy gateway-mode status (signed in, usable key 'eng-team', policy v3); override what a case needs. */
export function statusFixture(overrides: PolicyOverrides = {}, mode: AgentStatus['mode'] = 'gateway'): AgentStatus {
  const { policy, connectivity, user, ...rest } = overrides;
  return {
    mode,
    proxy: 'http://127.0.0.1:8790',
    gateway: mode === 'local' ? null : 'https://bifrost.example.com',
    policy: {
      generatedAt: NOW.toISOString(),
      user: { signedIn: true, name: 'Ada Lovelace', email: 'ada@example.com', ...user },
      activeKey: { id: 'vk-eng', name: 'eng-team', state: 'usable' },
      policy: policy === null ? null : {
        version: 3,
        issuedAt: new Date(NOW.getTime() - 5 * 60_000).toISOString(),
        ageSeconds: 300,
        appliedAt: NOW.toISOString(),
        failMode: 'open',
        routing: 'gateway',
        ...policy,
      },
      connectivity: { controlPlane: true, gateway: true, ...connectivity },
      budgets: [],
      rateLimits: [],
      lastBlocks: [],
      shadowAi: [],
      problems: [],
      ...rest,
    },
  };
}

let counter = 0;

export function noticeFixture(overrides: Partial<Notice> = {}): Notice {
  counter += 1;
  return {
    id: `notice-${counter}`,
    kind: 'blocked',
    who: { user: 'ada@example.com', app: 'Cursor' },
    what: { provider: 'openai', model: 'gpt-4o', host: 'api.openai.com' },
    why: {
      message: "Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini, o3-mini. Ask your admin, or pick an allowed model.",
      errorType: 'model_blocked',
    },
    when: NOW.toISOString(),
    firstAt: NOW.toISOString(),
    count: 1,
    ...overrides,
  };
}
