// Operations on mailboxes: send, read an inbox, take the next message.
import { MESSAGE_KINDS } from '../town/records.js';
import type { Town } from '../town/town.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, bool, int, nullable, obj, record, str } from './schema.js';
import { agentPathRef, agentRef, MAX_WAIT_SECS, messageSchema, messageWithId, page, pageFields, text } from './town-schemas.js';

export function messageOperations(town: Town): AnyOperation[] {
  return [
    defineOperation({
      name: 'message.send', summary: 'Queue a message for an agent or the supervisor', scope: 'town.write', mutates: true, idempotent: true,
      input: obj({
        to: agentRef,
        message: text('The message body.'),
        kind: str({ enum: MESSAGE_KINDS, description: 'Default `task`.' }),
        from: { ...agentRef, description: 'Sender name or id; default the supervisor.' },
        urgent: bool({ description: 'Delivered before normal messages.' }),
      }, { required: ['to', 'message'] }),
      output: messageWithId, errors: ['agent.not_found'],
      run: (ctx, input) => town.sendMessage(input, ctx.commit),
    }),
    defineOperation({
      name: 'message.inbox', summary: "Read an agent's (or the supervisor's) inbox without consuming it", scope: 'town.read', mutates: false,
      input: obj({ agent: agentPathRef, ...pageFields }, { required: ['agent'] }),
      output: record({ agent: str(), messages: arr(messageSchema), ...page, urgent: int({ minimum: 0, description: 'Urgent messages in the whole mailbox.' }) }, 'Urgent first, then in order.'),
      errors: ['agent.not_found'],
      run: (_ctx, input) => town.inbox(input.agent, input),
    }),
    defineOperation({
      name: 'message.next', summary: 'Take the next message (urgent first), waiting up to `wait` seconds for one', scope: 'town.write', mutates: true, longPoll: true,
      input: obj({ agent: agentPathRef, wait: int({ minimum: 0, maximum: MAX_WAIT_SECS, description: 'Seconds to wait for a message (default 0).' }) }, { required: ['agent'] }),
      output: nullable(messageWithId), errors: ['agent.not_found'],
      run: (ctx, input) => town.nextMessage(input.agent, { waitMs: (input.wait ?? 0) * 1000, signal: ctx.signal }),
    }),
  ];
}
