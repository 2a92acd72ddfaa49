import { describe, expect, it } from 'vitest';
import { callbackUrlProblem, mayConnect, restrictedRange } from './address-policy.js';

const closed = { allowPrivate: false, allowedHosts: [] };

describe('webhook address policy', () => {
  it('allows global unicast only', () => {
    for (const address of ['8.8.8.8', '2001:4860:4860::8888', '93.184.216.34']) expect(restrictedRange(address), address).toBeUndefined();
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.100.100.200', '0.0.0.0', '::1', 'fe80::1', 'fd00:ec2::254', '::ffff:10.0.0.1', '64:ff9b::7f00:1', '224.0.0.1']) {
      expect(restrictedRange(address), address).toBeDefined();
    }
  });

  it('judges the connected address, unless the host is allowed or private addresses are', () => {
    expect(mayConnect(closed)('hooks.example', '127.0.0.1')).toBe(false);
    expect(mayConnect(closed)('hooks.example', '93.184.216.34')).toBe(true);
    expect(mayConnect({ allowPrivate: false, allowedHosts: ['*.svc.local'] })('a.svc.local', '10.0.0.1')).toBe(true);
    expect(mayConnect({ allowPrivate: false, allowedHosts: ['*.svc.local'] })('svc.local.evil', '10.0.0.1')).toBe(false);
    expect(mayConnect({ allowPrivate: true, allowedHosts: [] })('x', '127.0.0.1')).toBe(true);
  });

  it('refuses at submit what can be known without DNS', () => {
    expect(callbackUrlProblem('https://hooks.example/x?token=1', closed)).toBeUndefined();
    expect(callbackUrlProblem('http://10.0.0.1/', closed)).toMatch(/private/);
    expect(callbackUrlProblem('http://[::1]:8080/', closed)).toMatch(/loopback/);
    expect(callbackUrlProblem('http://app.localhost/', closed)).toMatch(/localhost/);
    expect(callbackUrlProblem('file:///etc/passwd', closed)).toMatch(/http/);
    expect(callbackUrlProblem('http://10.0.0.1/', { allowPrivate: true, allowedHosts: [] })).toBeUndefined();
  });
});
