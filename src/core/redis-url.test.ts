import { describe, expect, it } from 'vitest';
import { clusterDatabaseProblem, redisUrlProblem } from './redis-url.js';

describe('redisUrlProblem', () => {
  it.each([
    'redis://localhost:6379',
    'redis://127.0.0.1',
    'rediss://user:p%40ss@cache.internal:6380/2',
    'redis://:secret@host:6379/0',
    'REDIS://host:6379',
    'redis://[::1]:6379',
    'redis://host:6379?family=6',
    'redis://a:7000,redis://b:7001, rediss://c:7002',
  ])('accepts %s', (value) => {
    expect(redisUrlProblem(value)).toBeUndefined();
  });

  it.each([
    ['http://127.0.0.1:6379', /not http:\/\//],
    ['not-a-url', /^expected a redis:\/\/ or rediss:\/\/ URL/],
    ['localhost:6379', /^expected a redis:\/\/ or rediss:\/\/ URL/],
    ['/var/run/redis.sock', /^expected a redis:\/\/ or rediss:\/\/ URL/],
    ['unix:///var/run/redis.sock', /not unix:\/\//],
    ['', /got nothing/],
    ['redis://', /names no host/],
    ['redis://host:99999', /does not parse/],
    ['redis://host:6379/cache', /database number/],
    ['redis://host:6379?db=abc', /db parameter must be a database number/],
    ['redis://a:7000,,redis://b:7001', /^seed 2 of 3: .*got nothing/],
    ['redis://a:7000,b:7001', /^seed 2 of 2: expected a redis:\/\//],
  ])('refuses %j', (value, why) => {
    expect(redisUrlProblem(value)).toMatch(why);
  });

  it('never quotes the value, which may hold a password', () => {
    expect(redisUrlProblem('http://user:hunter2@host:6379')).not.toContain('hunter2');
    expect(redisUrlProblem('redis://user:hunter2@host:6379/x')).not.toContain('hunter2');
  });
});

describe('clusterDatabaseProblem', () => {
  it('accepts seeds on database 0 and refuses one naming another, by path or db parameter', () => {
    expect(clusterDatabaseProblem('redis://a:7000,redis://b:7001/0')).toBeUndefined();
    expect(clusterDatabaseProblem('redis://a:7000,redis://b:7001/2')).toMatch(/database 2, but a Redis Cluster has database 0 only/);
    expect(clusterDatabaseProblem('redis://a:7000?db=3')).toMatch(/database 3/);
  });
});
