import { WithheldUnreadSchema, type EdgeRefusal, type WithheldUnread } from './decision-protocol.js';
import { toolListWithheldError } from './tool-list-filter.js';
import { withheldUnreadReason } from './withheld-unread-reason.js';

/**
 * A withheld-list report in the previous release's body (`error`: the error the wrapper answered its client with),
 * read as the current one. Only the number in it is taken: the report is accepted when its error is, byte for byte,
 * the one this agent words for that reason (toolListWithheldError from withheldUnreadReason), as the previous wrapper
 * worded it too. Anything else (another status, type or text, a forged message) is not a report of that release and
 * is refused, so the audit record's text is always Edge's own.
 */
export function withheldFromPreviousError(serverName: string, error: EdgeRefusal): WithheldUnread | undefined {
  const candidate = reasonNamedIn(reasonPartOf(serverName, error.message));
  if (candidate === undefined) return undefined;
  const worded = toolListWithheldError(`'${serverName}'`, withheldUnreadReason(candidate));
  const same = error.status === worded.status && error.type === worded.type && error.message === worded.message;
  return same ? candidate : undefined;
}

/** Stands for the reason in the wording, to find where it starts: its last occurrence (the name comes before the reason). */
const REASON_MARK = '\u0000';

/**
 * The message after the wording's lead-in for this server (`Bifrost Edge withheld the tool list from 'srv': `), or ''
 * when it does not start with it. The reason is read only there: a server may name itself after a reason's words, and
 * the first match in the whole message would then be in its name, not in the reason.
 */
function reasonPartOf(serverName: string, message: string): string {
  const marked = toolListWithheldError(`'${serverName}'`, REASON_MARK).message;
  const leadIn = marked.slice(0, marked.lastIndexOf(REASON_MARK));
  return message.startsWith(leadIn) ? message.slice(leadIn.length) : '';
}

/** The reason the previous wrapper's message names (from its start), when its number is within the current report's bounds. */
function reasonNamedIn(reasonPart: string): WithheldUnread | undefined {
  const count = /^it offers (\d{1,10}) tools, more than /.exec(reasonPart)?.[1];
  const index = /^tools\[(\d{1,10})\] nests arrays or objects /.exec(reasonPart)?.[1];
  const named = count !== undefined ? { reason: 'too_many_tools', count: Number(count) } : index !== undefined ? { reason: 'too_deep', index: Number(index) } : undefined;
  const read = WithheldUnreadSchema.safeParse(named);
  return read.success ? read.data : undefined;
}
