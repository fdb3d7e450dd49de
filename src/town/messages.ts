// Mailboxes: one queue per agent plus the built-in supervisor mailbox.
//
// Delivery order is urgent before normal, and FIFO within each (by `seq`), so
// a mailbox sorts by the key `[urgent ? 0 : 1, seq]`. Reading an inbox is
// non-destructive; `popMessage` removes the head in the same transaction that
// returns it, so two workers can never receive the same message.
import type { ReadTx } from '../store/store.js';
import { invalidInput } from '../errors.js';
import { resolveMailbox, type Mailbox } from './agent-lookup.js';
import { pageOf, type Page, type PageRequest } from './pagination.js';
import { MESSAGE_KINDS, SUPERVISOR, messageView, type Message, type MessageKind, type MessageRecord } from './records.js';
import { MAILBOXES, MailboxBucket } from './town-indexes.js';
import { nextSeq, type WriteContext } from './write-context.js';
import { randomUUID } from 'node:crypto';

export interface EnqueueInput {
  from: string;
  to: Pick<Mailbox, 'key' | 'name'>;
  kind: MessageKind;
  body: string;
  urgent: boolean;
  task_id?: string | null;
}

/** Queue a message and mark its mailbox to be woken once the write is durable. */
export function enqueueMessage(w: WriteContext, input: EnqueueInput): MessageRecord {
  const record: MessageRecord = {
    id: randomUUID(),
    from: input.from,
    to: input.to.name,
    to_agent: input.to.key,
    kind: input.kind,
    body: input.body,
    urgent: input.urgent,
    task_id: input.task_id ?? null,
    created_at: w.now,
    seq: nextSeq(w.tx),
  };
  w.tx.create('messages', record.id, record);
  w.wake(record.to_agent);
  return record;
}

/** Every queued message of one mailbox, in delivery order. */
export function mailboxMessages(tx: ReadTx, key: string): MessageRecord[] {
  return Array.from(tx.index(MAILBOXES).entries(MailboxBucket.box(key)), (e) => e.value);
}

/** Queued messages of one mailbox: all, and the urgent ones. */
export function mailboxLength(tx: ReadTx, key: string): { all: number; urgent: number } {
  const index = tx.index(MAILBOXES);
  return { all: index.count(MailboxBucket.box(key)), urgent: index.count(MailboxBucket.urgent(key)) };
}

export interface SendInput {
  to: string;
  message: string;
  kind?: MessageKind | null;
  from?: string | null;
  urgent?: boolean | null;
  /** The sender as an identity taken as is (the caller's own), instead of a mailbox named by `from`. */
  sender?: string;
}

export type SendResult = Message & { message_id: string };

export function sendMessage(w: WriteContext, input: SendInput): SendResult {
  const kind = input.kind ?? 'task';
  if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) {
    throw invalidInput([{ pointer: '/kind', message: `must be one of: ${MESSAGE_KINDS.join(', ')}` }]);
  }
  // Validate both ends before writing anything.
  const to = resolveMailbox(w.tx, input.to);
  const from =
    input.sender !== undefined ? input.sender : input.from === undefined || input.from === null ? SUPERVISOR : resolveMailbox(w.tx, input.from).name;
  const record = enqueueMessage(w, { from, to, kind, body: input.message, urgent: input.urgent === true });
  return { ...messageView(record), message_id: record.id };
}

export interface InboxPage {
  agent: string;
  messages: Message[];
  count: number;
  total: number;
  /** Urgent messages in the whole mailbox, not just this page. */
  urgent: number;
  next_cursor: string | null;
}

export function listInbox(tx: ReadTx, ref: string, page: PageRequest = {}): InboxPage {
  const box = resolveMailbox(tx, ref);
  const result: Page<MessageRecord> = pageOf(tx.index(MAILBOXES), MailboxBucket.box(box.key), 2, page);
  return {
    agent: box.name,
    messages: result.items.map(messageView),
    count: result.items.length,
    total: result.total,
    urgent: mailboxLength(tx, box.key).urgent,
    next_cursor: result.next_cursor,
  };
}

export type PoppedMessage = Message & { message_id: string };

/** Put a popped message back in its place (same id and sequence) when its reader went away. */
export function restoreMessage(w: WriteContext, record: MessageRecord): void {
  w.tx.put('messages', record.id, record);
  w.wake(record.to_agent);
}

/** Remove and return the head of a mailbox (and its stored record), or null when it is empty. */
export function popMessage(w: WriteContext, ref: string): { message: PoppedMessage; record: MessageRecord } | null {
  const box = resolveMailbox(w.tx, ref);
  let head: MessageRecord | undefined;
  for (const entry of w.tx.index(MAILBOXES).entries(MailboxBucket.box(box.key))) {
    head = entry.value;
    break;
  }
  if (head === undefined) return null;
  w.tx.delete('messages', head.id);
  // Taking a message is activity; `box.agent` was read in this same transaction.
  if (box.agent !== null) w.tx.put('agents', box.agent.id, { ...box.agent, last_active_at: w.now });
  return { message: { ...messageView(head), message_id: head.id }, record: head };
}
