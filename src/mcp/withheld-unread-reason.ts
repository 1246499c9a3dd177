import { MAX_READ_NESTING } from '../providers/extraction.js';
import { MAX_TOOLS, type WithheldUnread } from './decision-protocol.js';

/**
 * Why a tool list was withheld unread, in the words of the error the client gets. One place for both ends: the wrapper
 * answers the client with it, and the agent writes the same text into the audit record from the reason code alone.
 */
export function withheldUnreadReason(withheld: WithheldUnread): string {
  return withheld.reason === 'too_many_tools'
    ? `it offers ${withheld.count} tools, more than the ${MAX_TOOLS} Edge checks`
    : `tools[${withheld.index}] nests arrays or objects more than ${MAX_READ_NESTING} levels deep, deeper than Edge reads`;
}
