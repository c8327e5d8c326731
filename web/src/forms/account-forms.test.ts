import { describe, expect, it } from 'vitest';
import { tokenFromFragment, validateLogIn, validateNewPassword, validateSignUp } from './account-forms';

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
});
