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
  const candidate = reasonNamedIn(error.message);
  if (candidate === undefined) return undefined;
  const worded = toolListWithheldError(`'${serverName}'`, withheldUnreadReason(candidate));
  const same = error.status === worded.status && error.type === worded.type && error.message === worded.message;
  return same ? candidate : undefined;
}

/** The reason the previous wrapper's message names, when its number is within the current report's bounds. */
function reasonNamedIn(message: string): WithheldUnread | undefined {
  const count = /: it offers (\d{1,10}) tools, more than /.exec(message)?.[1];
  const index = /: tools\[(\d{1,10})\] nests arrays or objects /.exec(message)?.[1];
  const named = count !== undefined ? { reason: 'too_many_tools', count: Number(count) } : index !== undefined ? { reason: 'too_deep', index: Number(index) } : undefined;
  const read = WithheldUnreadSchema.safeParse(named);
  return read.success ? read.data : undefined;
}
