// Operations on mailboxes: send, read an inbox, take the next message.
import { hasScope } from '../auth/scopes.js';
import { OpError } from '../errors.js';
import { CONTROL_KINDS, MESSAGE_KINDS } from '../town/records.js';
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
      description:
        'Without `agent.manage` a caller sends as itself (`from` is its own identity, and naming another is refused) ' +
        'and cannot send the kinds the server sends (shutdown, task_assign, task_done, task_failed): a worker acts on those as on the real thing.',
      output: messageWithId, errors: ['agent.not_found', 'scope.denied'],
      run: (ctx, input) => {
        if (hasScope(ctx.principal.scopes, 'agent.manage')) return town.sendMessage(input, ctx.commit);
        if (input.kind !== undefined && CONTROL_KINDS.includes(input.kind)) {
          throw new OpError('scope.denied', `Only the server, or a caller with the "agent.manage" scope, sends "${input.kind}" messages.`, { required_scope: 'agent.manage' });
        }
        if (input.from !== undefined && input.from !== ctx.principal.id) {
          throw new OpError('scope.denied', 'Sending as another identity requires the "agent.manage" scope.', { required_scope: 'agent.manage' });
        }
        const { from: _from, ...rest } = input;
        return town.sendMessage({ ...rest, sender: ctx.principal.id }, ctx.commit);
      },
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
