// The backlog through the real server: add, list in order, claim (and what a
// failed claim leaves), assign-all, DELETE, and pagination of every list.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';
import { assertProblem, pointers } from '../helpers/assertions.js';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('backlog over HTTP', () => {
  let s: TestServer;
  const tasks: any[] = [];
  before(async () => {
    s = await startTestServer();
    await s.request('POST', '/v1/agents', { body: { name: 'crew' } });
    await s.request('POST', '/v1/agents', { body: { name: 'gone' } });
    await s.request('POST', '/v1/agents/gone/kill');
  });
  after(() => s.close());

  test('POST /v1/backlog answers 201 with the full pending task and task_id', async () => {
    for (const description of ['first', 'second', 'third']) {
      const r = await s.request('POST', '/v1/backlog', { body: { description } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.task_id, r.json.id);
      assert.equal(r.json.description, description);
      assert.equal(r.json.state, 'pending');
      assert.equal(r.json.assigned_to, null);
      assert.deepEqual(r.json.tags, []);
      assert.match(r.json.created_at, TS);
      tasks.push(r.json);
    }
    const tagged = await s.request('POST', '/v1/backlog', { body: { description: 'tagged ✓', tags: Array.from({ length: 32 }, (_, i) => `t${i}`) } });
    assert.equal(tagged.status, 201);
    assert.equal(tagged.json.tags.length, 32);
    assert.equal(tagged.json.description, 'tagged ✓', 'strings are the stored values');
    tasks.push(tagged.json);
  });

  test('GET /v1/backlog lists the backlog in order as {backlog, count, total, next_cursor}', async () => {
    const r = await s.request('GET', '/v1/backlog');
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['backlog', 'count', 'next_cursor', 'total']);
    assert.deepEqual(r.json.backlog, tasks, 'items are the full records as created');
    assert.equal(r.json.count, 4);
    assert.equal(r.json.total, 4);
    assert.equal(r.json.next_cursor, null);
  });

  test('invalid backlog bodies are a 422 with pointers and add nothing', async () => {
    const r = await s.request('POST', '/v1/backlog', { body: { description: '', tags: ['', 'x'.repeat(65), 7], owner: 'me' } });
    assertProblem(r, 422, 'body.invalid');
    assert.deepEqual(pointers(r), ['/description', '/owner', '/tags/0', '/tags/1', '/tags/2']);
    const tooMany = await s.request('POST', '/v1/backlog', { body: { description: 'x', tags: Array.from({ length: 33 }, (_, i) => `t${i}`) } });
    assertProblem(tooMany, 422, 'body.invalid');
    assert.deepEqual(pointers(tooMany), ['/tags']);
    const big = await s.request('POST', '/v1/backlog', { body: { description: 'é'.repeat(32 * 1024 + 1) } });
    assertProblem(big, 422, 'body.invalid');
    assert.deepEqual(pointers(big), ['/description']);
    const exact = 'x'.repeat(64 * 1024);
    const max = await s.request('POST', '/v1/backlog', { body: { description: exact } });
    assert.equal(max.status, 201, '64 KiB is allowed');
    assert.equal((await s.request('DELETE', `/v1/backlog/${max.json.id}`)).status, 200);
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 4);
  });

  test('claim for an unknown agent is a 404 and leaves the task in the backlog', async () => {
    const r = await s.request('POST', `/v1/backlog/${tasks[0].id}/claim`, { body: { agent: 'nobody' } });
    assertProblem(r, 404, 'town.agent_not_found');
    const backlog = await s.request('GET', '/v1/backlog');
    assert.deepEqual(backlog.json.backlog.map((t: any) => t.id), tasks.map((t) => t.id));
    assert.deepEqual((await s.request('GET', `/v1/tasks/${tasks[0].id}`)).json, tasks[0]);
  });

  test('claim for a stopped agent is a 409 and leaves the task in the backlog', async () => {
    const r = await s.request('POST', `/v1/backlog/${tasks[0].id}/claim`, { body: { agent: 'gone' } });
    assertProblem(r, 409, 'town.agent_state');
    assert.equal(r.json.current_state, 'stopped');
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 4);
  });

  test('claim of an unknown task is a 404; a missing agent field is a 422', async () => {
    assertProblem(await s.request('POST', '/v1/backlog/00000000-0000-4000-8000-000000000000/claim', { body: { agent: 'crew' } }), 404, 'town.task_not_found');
    const r = await s.request('POST', `/v1/backlog/${tasks[0].id}/claim`, { body: {} });
    assertProblem(r, 422, 'body.invalid');
    assert.deepEqual(pointers(r), ['/agent']);
  });

  test('claim takes the task out of the backlog; claiming it again is a 409 with current_state', async () => {
    const r = await s.request('POST', `/v1/backlog/${tasks[1].id}/claim`, { body: { agent: 'CREW' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'assigned');
    assert.equal(r.json.agent_name, 'crew');
    const again = await s.request('POST', `/v1/backlog/${tasks[1].id}/claim`, { body: { agent: 'crew' } });
    assertProblem(again, 409, 'town.not_in_backlog');
    assert.equal(again.json.current_state, 'assigned');
    const backlog = await s.request('GET', '/v1/backlog');
    assert.deepEqual(backlog.json.backlog.map((t: any) => t.description), ['first', 'third', 'tagged ✓']);
    const inbox = await s.request('GET', '/v1/agents/crew/inbox');
    assert.equal(inbox.json.messages.filter((m: any) => m.kind === 'task_assign').length, 1, 'one task_assign, not two');
  });

  test('DELETE /v1/backlog/{id} answers 200 with the cancelled task; again is a 409; unknown 404', async () => {
    const r = await s.request('DELETE', `/v1/backlog/${tasks[2].id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.removed, true);
    assert.equal(r.json.task_id, tasks[2].id);
    assert.equal(r.json.state, 'cancelled');
    assert.match(r.json.completed_at, TS);
    assert.equal((await s.request('GET', `/v1/tasks/${tasks[2].id}`)).json.state, 'cancelled');
    const again = await s.request('DELETE', `/v1/backlog/${tasks[2].id}`);
    assertProblem(again, 409, 'town.not_in_backlog');
    assert.equal(again.json.current_state, 'cancelled');
    const claimed = await s.request('DELETE', `/v1/backlog/${tasks[1].id}`);
    assertProblem(claimed, 409, 'town.not_in_backlog');
    assert.equal(claimed.json.current_state, 'assigned');
    assertProblem(await s.request('DELETE', '/v1/backlog/no-such-task'), 404, 'town.task_not_found');
    const backlog = await s.request('GET', '/v1/backlog');
    assert.deepEqual(backlog.json.backlog.map((t: any) => t.description), ['first', 'tagged ✓']);
  });

  test('assign-all: unknown agent 404 and stopped agent 409 change nothing', async () => {
    assertProblem(await s.request('POST', '/v1/backlog/assign-all', { body: { agent: 'nobody' } }), 404, 'town.agent_not_found');
    const stopped = await s.request('POST', '/v1/backlog/assign-all', { body: { agent: 'gone' } });
    assertProblem(stopped, 409, 'town.agent_state');
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 2);
  });

  test('assign-all hands out every backlog task in order and empties the backlog', async () => {
    const crew = (await s.request('GET', '/v1/agents/crew')).json;
    const r = await s.request('POST', '/v1/backlog/assign-all', { body: { agent: crew.id } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { assigned: 2, tasks: [tasks[0].id, tasks[3].id], agent_id: crew.id, agent_name: 'crew' });
    assert.deepEqual((await s.request('GET', '/v1/backlog')).json, { backlog: [], count: 0, total: 0, next_cursor: null });
    for (const t of [tasks[0], tasks[3]]) {
      const got = (await s.request('GET', `/v1/tasks/${t.id}`)).json;
      assert.equal(got.state, 'assigned');
      assert.equal(got.assigned_to, crew.id);
    }
    const inbox = await s.request('GET', '/v1/agents/crew/inbox');
    assert.deepEqual(
      inbox.json.messages.filter((m: any) => m.kind === 'task_assign').map((m: any) => m.task_id),
      [tasks[1].id, tasks[0].id, tasks[3].id],
    );
    const empty = await s.request('POST', '/v1/backlog/assign-all', { body: { agent: 'crew' } });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json, { assigned: 0, tasks: [], agent_id: crew.id, agent_name: 'crew' });
  });

  test('backlog mutations are each audited once with their status', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/v1/backlog', { description: 'audit' }, 201],
      ['POST', '/v1/backlog', { description: '' }, 422],
      ['POST', '/v1/backlog/assign-all', { agent: 'nobody' }, 404],
      ['DELETE', '/v1/backlog/missing', undefined, 404],
    ];
    for (const [i, [method, path, body, status]] of cases.entries()) {
      const id = `backlog-audit-${i}`;
      assert.equal((await s.request(method, path, { body, headers: { 'x-request-id': id } })).status, status);
      const lines = s.audit.filter((l) => l.includes(`"${id}"`)).map(parseAuditLine);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!['status'], String(status));
      assert.equal(lines[0]!['method'], method);
    }
  });
});

describe('pagination over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    for (let i = 0; i < 5; i++) {
      await s.request('POST', '/v1/agents', { body: { name: `agent-${i}` } });
      await s.request('POST', '/v1/backlog', { body: { description: `item-${i}` } });
      await s.request('POST', '/v1/messages/send', { body: { to: 'agent-0', message: `m-${i}`, urgent: i % 2 === 1 } });
    }
  });
  after(() => s.close());

  async function pageThrough(path: string, key: string): Promise<{ items: any[]; pages: number }> {
    const items: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const url: string = `${path}${sep}limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const r = await s.request('GET', url);
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      assert.equal(r.json.total, 5, 'total is constant across pages');
      assert.equal(r.json.count, r.json[key].length);
      pages++;
      if (pages < 3) {
        assert.equal(r.json.count, 2);
        assert.equal(typeof r.json.next_cursor, 'string');
      } else {
        assert.equal(r.json.count, 1);
        assert.equal(r.json.next_cursor, null, 'the last page has no cursor');
      }
      items.push(...r.json[key]);
      cursor = r.json.next_cursor;
      assert.ok(pages <= 3, 'pagination terminates');
    } while (cursor !== null);
    return { items, pages };
  }

  test('agents: limit=2 pages through all 5 with no duplicates or misses', async () => {
    const { items, pages } = await pageThrough('/v1/agents', 'agents');
    assert.equal(pages, 3);
    assert.deepEqual(items.map((a) => a.name), ['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4']);
  });

  test('backlog and tasks: limit=2 pages through all 5 in order', async () => {
    const backlog = await pageThrough('/v1/backlog', 'backlog');
    assert.deepEqual(backlog.items.map((t) => t.description), ['item-0', 'item-1', 'item-2', 'item-3', 'item-4']);
    const tasks = await pageThrough('/v1/tasks?state=pending', 'tasks');
    assert.deepEqual(tasks.items.map((t) => t.description), ['item-0', 'item-1', 'item-2', 'item-3', 'item-4']);
  });

  test('an inbox pages in delivery order (urgent first)', async () => {
    const { items } = await pageThrough('/v1/agents/agent-0/inbox', 'messages');
    assert.deepEqual(items.map((m) => m.body), ['m-1', 'm-3', 'm-0', 'm-2', 'm-4']);
  });

  test('items added between pages neither repeat nor hide earlier ones', async () => {
    const first = await s.request('GET', '/v1/backlog?limit=2');
    await s.request('POST', '/v1/backlog', { body: { description: 'item-5' } });
    const second = await s.request('GET', `/v1/backlog?limit=10&cursor=${first.json.next_cursor}`);
    assert.deepEqual(second.json.backlog.map((t: any) => t.description), ['item-2', 'item-3', 'item-4', 'item-5']);
    assert.equal(second.json.total, 6);
    assert.equal(second.json.next_cursor, null);
    const removed = second.json.backlog.at(-1);
    await s.request('DELETE', `/v1/backlog/${removed.id}`);
  });

  test('limit bounds: 1000 is fine; 1001, 0, -1 and abc are 422 with pointer /limit', async () => {
    assert.equal((await s.request('GET', '/v1/agents?limit=1000')).json.count, 5);
    assert.equal((await s.request('GET', '/v1/agents?limit=1')).json.count, 1);
    for (const path of ['/v1/agents', '/v1/backlog', '/v1/tasks', '/v1/tasks/pending', '/v1/agents/agent-0/inbox']) {
      for (const limit of ['1001', '0', '-1', 'abc', '1.5']) {
        const r = await s.request('GET', `${path}?limit=${limit}`);
        assertProblem(r, 422, 'query.invalid');
        assert.deepEqual(pointers(r), ['/limit'], `${path}?limit=${limit}`);
      }
    }
  });

  test('a bad cursor is a 422 with pointer /cursor', async () => {
    const wrongShape = Buffer.from(JSON.stringify([1, 2, 3])).toString('base64url');
    for (const cursor of ['%%%', 'bm90LWpzb24', wrongShape, 'x'.repeat(200), '']) {
      const r = await s.request('GET', `/v1/backlog?cursor=${cursor}`);
      assertProblem(r, 422, 'query.invalid');
      assert.deepEqual(pointers(r), ['/cursor'], `cursor ${JSON.stringify(cursor)}`);
    }
    const inboxCursor = (await s.request('GET', '/v1/agents/agent-0/inbox?limit=1')).json.next_cursor;
    const crossed = await s.request('GET', `/v1/agents?cursor=${inboxCursor}`);
    assertProblem(crossed, 422, 'query.invalid');
  });
});
