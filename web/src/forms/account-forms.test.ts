import { describe, expect, it } from 'vitest';
import { tokenFromFragment, validateChangeEmail, validateChangePassword, validateDeleteAccount, validateLogIn, validateNewPassword, validateSignUp } from './account-forms';

describe('the account forms', () => {
  it('check the address with the API’s email schema', () => {
    expect(validateSignUp({ email: '', password: 'a long unusual passphrase', confirmPassword: 'a long unusual passphrase' })).toEqual({ email: 'Enter a valid email address' });
    expect(validateLogIn({ email: 'not-an-address', password: '' })).toEqual({ email: 'Enter a valid email address', password: 'Enter your password' });
    expect(validateLogIn({ email: ' Owner@Example.com ', password: 'x' })).toEqual({});
  });

  it('hold new passwords to the server’s policy: length, the common-password list, not the address', () => {
    expect(validateNewPassword({ password: 'short', confirmPassword: 'short' })).toEqual({ password: 'Use at least 10 characters' });
    expect(validateNewPassword({ password: 'qwertyuiop', confirmPassword: 'qwertyuiop' })).toEqual({ password: 'This password is too common; choose another' });
    expect(validateSignUp({ email: 'owner@example.com', password: 'owner@example.com', confirmPassword: 'owner@example.com' })).toEqual({
      password: 'Do not use your email address as the password',
    });
    expect(validateNewPassword({ password: 'a long unusual passphrase', confirmPassword: 'a long unusual passphrase!' })).toEqual({ confirmPassword: 'The two passwords differ' });
    expect(validateSignUp({ email: 'owner@example.com', password: 'a long unusual passphrase', confirmPassword: 'a long unusual passphrase' })).toEqual({});
  });

  it('read the token of a mailed link from the fragment', () => {
    expect(tokenFromFragment('#token=abc-_123')).toBe('abc-_123');
    expect(tokenFromFragment('')).toBeUndefined();
    expect(tokenFromFragment(`#token=${'x'.repeat(201)}`)).toBeUndefined();
  });

  it('check a password change: the current one given, the new one to the policy and not the same', () => {
    const good = { currentPassword: 'the old passphrase', newPassword: 'a long unusual passphrase', confirmPassword: 'a long unusual passphrase' };
    expect(validateChangePassword(good, 'owner@example.com')).toEqual({});
    expect(validateChangePassword({ ...good, currentPassword: '' })).toEqual({ currentPassword: 'Enter your password' });
    expect(validateChangePassword({ ...good, newPassword: 'qwertyuiop', confirmPassword: 'qwertyuiop' })).toEqual({ newPassword: 'This password is too common; choose another' });
    expect(validateChangePassword({ currentPassword: 'x', newPassword: 'owner@example.com', confirmPassword: 'owner@example.com' }, 'Owner@Example.com')).toEqual({
      newPassword: 'Do not use your email address as the password',
    });
    expect(validateChangePassword({ ...good, currentPassword: good.newPassword })).toEqual({ newPassword: 'Choose a password different from the current one' });
    expect(validateChangePassword({ ...good, confirmPassword: 'something else' })).toEqual({ confirmPassword: 'The two passwords differ' });
  });

  it('check an email change: a valid new address, not the current one, and the password', () => {
    expect(validateChangeEmail({ newEmail: ' new@example.com ', password: 'pw' }, 'owner@example.com')).toEqual({});
    expect(validateChangeEmail({ newEmail: 'nope', password: '' }, 'owner@example.com')).toEqual({ newEmail: 'Enter a valid email address', password: 'Enter your password' });
    expect(validateChangeEmail({ newEmail: 'OWNER@example.com', password: 'pw' }, 'owner@example.com')).toEqual({ newEmail: 'This is your current address already' });
  });

  it('ask for the password and the typed word before deleting the account', () => {
    expect(validateDeleteAccount({ password: 'pw', confirmation: 'DELETE' })).toEqual({});
    expect(validateDeleteAccount({ password: '', confirmation: 'delete' })).toEqual({ password: 'Enter your password', confirmation: 'Type DELETE to confirm' });
  });
});
