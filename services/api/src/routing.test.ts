import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from './testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture({ cache: 'none' }) });

describe('routing (one router per /v1/<resource>)', () => {
  test('matches as Express does: any case, trailing slash; unknown resources and methods are 404', async ({ api }) => {
    const { token } = await api.login('admin');
    expect((await api.request('GET', '/v1/departments/tree', { token })).status).toBe(200);
    expect((await api.request('GET', '/V1/Departments/Tree', { token })).status).toBe(200);
    expect((await api.request('GET', '/v1/departments/', { token })).status).toBe(200);
    expect((await api.request('GET', '/v1/me', { token })).status).toBe(200);
    const unknown = await api.request('GET', '/v1/nothing-here', { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    expect((await api.request('GET', '/v1', { token })).status).toBe(404);
    expect((await api.request('PUT', '/v1/me', { token, body: {} })).status).toBe(404);
  });
});
