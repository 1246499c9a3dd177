import { NEW_CHAIN_LIMITS } from '../../../src/control/server/new-chain-rate.js';

/** The hourly new-chain limit: how many new chains a device may have compared in an hour before they are coalesced. */
export const hourlyLimit = NEW_CHAIN_LIMITS.find((limit) => limit.per === 'per hour')!;

/** The `n`th chain id a test's device uses: 32 hex digits, as a shipper's. */
export const chainId = (n: number): string => n.toString(16).padStart(32, '0');
