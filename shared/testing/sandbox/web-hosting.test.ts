import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFunctions } from '../../deploy/function-folders.js';
import { createHostingHandler, type HostingConfig, hostingGlob, loadHostingConfig } from './web-hosting.js';

describe('firebase.json hosting', () => {
  const hosting = loadHostingConfig();
  const headers = Object.fromEntries(hosting.headers!.find((rule) => rule.source === '**')!.headers.map(({ key, value }) => [key.toLowerCase(), value]));

  it('publishes the built app with every security header the dashboard needs', () => {
    expect(hosting.public).toBe('web/dist');
    const csp = headers['content-security-policy']!;
    const directives = Object.fromEntries(csp.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(headers['strict-transport-security']).toMatch(/max-age=\d{8,}/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['cache-control']).toBe('no-cache');
    // Last rule wins for a key: hashed assets are cached for a year.
    expect(hosting.headers!.at(-1)).toEqual({ source: '/assets/**', headers: [{ key: 'Cache-Control', value: 'public, max-age=31536000, immutable' }] });
  });

  it('rewrites the API and the webhooks to their functions, then everything else to the app', () => {
    const rewrites = hosting.rewrites!.map((rule) => [rule.source, rule.run?.serviceId ?? rule.destination]);
    expect(rewrites).toEqual([
      ['/api/**', 'dashboard-api'],
      ['/nowpayments-ipn', 'nowpayments-ipn'],
      ['/telegram-webhook', 'telegram-webhook'],
      ['**', '/index.html'],
    ]);
    for (const rule of hosting.rewrites!) if (rule.run) expect(discoverFunctions()).toContain(rule.run.serviceId);
  });

  it('reads globs as Firebase does', () => {
    expect(hostingGlob('**').test('/channels/ch_1/edit')).toBe(true);
    expect(hostingGlob('/api/**').test('/api/v1/me')).toBe(true);
    expect(hostingGlob('/api/**').test('/apix/v1')).toBe(false);
    expect(hostingGlob('/assets/*.@(js|css)').test('/assets/index-1.css')).toBe(true);
    expect(hostingGlob('/assets/*.@(js|css)').test('/assets/a/index-1.css')).toBe(false);
    expect(hostingGlob('build-inputs.json').test('/build-inputs.json')).toBe(true);
  });
});

describe('the local hosting handler', () => {
  let root = '';
  let server: http.Server;
  let url = '';
  const served: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pgp-hosting-'));
    await mkdir(path.join(root, 'dist', 'assets'), { recursive: true });
    await writeFile(path.join(root, 'dist', 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(path.join(root, 'dist', 'assets', 'index-abc.js'), 'console.log(1)');
    await writeFile(path.join(root, 'dist', 'build-inputs.json'), '{}');
    await writeFile(path.join(root, 'secret.txt'), 'outside');
    const config: HostingConfig = { ...loadHostingConfig(), public: 'dist' };
    const handler = createHostingHandler({
      root,
      config,
      serveFunction: (name, request, response) => {
        if (name !== 'dashboard-api') return false;
        served.push(`${name} ${request.method} ${request.url} prefix=${String(request.headers['x-forwarded-prefix'])}`);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        return true;
      },
    });
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  it('serves hashed assets for a year and the app shell revalidated, with the security headers', async () => {
    const asset = await fetch(`${url}/assets/index-abc.js`);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const page of ['/', '/channels/ch_1/edit', '/verify-email']) {
      const answer = await fetch(`${url}${page}`);
      expect(await answer.text()).toContain('<title>app</title>');
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('hands /api/** to the function with the URL unchanged and no client-chosen prefix', async () => {
    const answer = await fetch(`${url}/api/v1/me?x=1`, { method: 'POST', headers: { 'x-forwarded-prefix': '/evil' } });
    expect(await answer.json()).toEqual({ ok: true });
    expect(served).toEqual(['dashboard-api POST /api/v1/me?x=1 prefix=undefined']);
    expect((await fetch(`${url}/nowpayments-ipn`, { method: 'POST' })).status).toBe(502); // not running in this test
  });

  it('serves nothing outside the folder, nor the ignored build manifest, and only reads', async () => {
    const traversal = await fetch(`${url}/%2e%2e/secret.txt`);
    expect(await traversal.text()).not.toContain('outside');
    expect(await (await fetch(`${url}/build-inputs.json`)).text()).toContain('<title>app</title>');
    expect((await fetch(`${url}/channels`, { method: 'POST' })).status).toBe(405);
  });
});
