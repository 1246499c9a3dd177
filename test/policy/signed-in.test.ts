import { describe, expect, it } from 'vitest';
import { isSignedIn, type SignInFacts } from '../../src/policy/signed-in.js';

const gateway: SignInFacts = { localMode: false, configuredKey: false, signInConfigured: true };

describe('isSignedIn', () => {
  it.each<[string, SignInFacts, boolean]>([
    ['local mode needs no sign-in', { localMode: true, configuredKey: false, signInConfigured: true }, true],
    ['no sign-in configured: a bundle placed by MDM is the device\'s', { ...gateway, signInConfigured: false, bundle: { subject: 'ada', hasKeyValues: true } }, true],
    ['nobody, no key, no bundle', gateway, false],
    ['a configured key', { ...gateway, configuredKey: true }, true],
    ['signed in, bundle not here yet', { ...gateway, sessionSubject: 'ada' }, true],
    ['signed in, bundle is hers', { ...gateway, sessionSubject: 'ada', bundle: { subject: 'ada', hasKeyValues: true } }, true],
    ['signed out, bundle was hers', { ...gateway, bundle: { subject: 'ada', hasKeyValues: true } }, false],
    ['someone else signed in, bundle still hers', { ...gateway, sessionSubject: 'bob', bundle: { subject: 'ada', hasKeyValues: true } }, false],
    ['signed out, but IT configured a key', { ...gateway, configuredKey: true, bundle: { subject: 'ada', hasKeyValues: true } }, true],
    ['a virtual-key enrollment belongs to the key', { ...gateway, bundle: { subject: 'virtual-key:vk-ada', hasKeyValues: true } }, true],
    ['a bundle without a subject (policy file, quota sync)', { ...gateway, bundle: { hasKeyValues: true } }, true],
    ['a bundle without key values', { ...gateway, bundle: { hasKeyValues: false } }, false],
  ])('%s', (_name, facts, expected) => {
    expect(isSignedIn(facts)).toBe(expected);
  });
});
