/**
 * Users' saved settings against the real Redis (REDIS_URL, default 127.0.0.1:6379), under a key prefix of its
 * own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Redis } from 'ioredis';

import { loadUserSettings, saveUserSettings } from '../../src/bots/core/userSettings.js';
import { connectRedis, type QueueContext } from '../../src/queue/queueContext.js';
import type { SeparationSettings } from '../../src/queue/jobSchema.js';
import { dropTestKeys, TEST_REDIS_URL, testPrefix } from '../support/testRedis.js';

const prefix = testPrefix('user-settings');
const DEFAULTS: SeparationSettings = {
  preset: 'balanced',
  guideDb: 12,
  stems: ['vocals', 'music', 'bleed'],
  format: 'mp3',
};
const DAYS_180 = 15_552_000;
let redis: Redis;
let context: QueueContext;

before(() => {
  redis = connectRedis(TEST_REDIS_URL);
  context = { redis, prefix };
});

after(async () => {
  await dropTestKeys(redis, prefix);
});

describe('user settings', () => {
  it('gives the defaults to a user who saved nothing, and stores nothing for them', async () => {
    assert.deepEqual(await loadUserSettings(context, 'telegram', '1'), DEFAULTS);
    assert.equal(await redis.exists(`${prefix}:stembot:settings:telegram:1`), 0);
  });

  it('keeps what a user saved, per platform, for 180 days', async () => {
    const mine: SeparationSettings = { preset: 'best', stems: ['music'], format: 'flac', guideDb: 12 };
    await saveUserSettings(context, 'telegram', '42', mine);
    assert.deepEqual(await loadUserSettings(context, 'telegram', '42'), mine);
    assert.deepEqual(
      await loadUserSettings(context, 'discord', '42'),
      DEFAULTS,
      'another platform’s user 42',
    );
    const key = `${prefix}:stembot:settings:telegram:42`;
    assert.deepEqual(JSON.parse((await redis.get(key)) ?? 'null'), mine);
    const ttl = await redis.ttl(key);
    assert.ok(ttl > DAYS_180 - 60 && ttl <= DAYS_180, `TTL ${ttl} s is 180 days`);
  });

  it('refreshes the expiry when settings are read', async () => {
    const key = `${prefix}:stembot:settings:telegram:7`;
    await redis.set(
      key,
      // saved before the guide stem existed: its level comes from the default
      JSON.stringify({ preset: 'fast', stems: ['vocals'], format: 'opus' }),
      'EX',
      60,
    );
    assert.deepEqual(await loadUserSettings(context, 'telegram', '7'), {
      preset: 'fast',
      stems: ['vocals'],
      format: 'opus',
      guideDb: 12,
    });
    const ttl = await redis.ttl(key);
    assert.ok(ttl > DAYS_180 - 60, `TTL ${ttl} s was reset to 180 days`);
  });

  it('gives the defaults when what is stored does not parse', async () => {
    for (const [user, stored] of [
      ['8', 'not json'],
      ['9', '{"preset":"ultra","stems":["vocals"],"format":"mp3"}'],
      ['10', '{"stems":[]}'],
      ['11', '[]'],
    ]) {
      await redis.set(`${prefix}:stembot:settings:telegram:${user}`, stored);
      assert.deepEqual(await loadUserSettings(context, 'telegram', user), DEFAULTS, stored);
    }
  });

  it('refuses to save settings that are not valid', async () => {
    const invalid = { preset: 'best', stems: [], format: 'mp3', guideDb: 12 } as SeparationSettings;
    await assert.rejects(saveUserSettings(context, 'telegram', '12', invalid));
    assert.equal(await redis.exists(`${prefix}:stembot:settings:telegram:12`), 0);
  });
});
