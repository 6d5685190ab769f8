import { classifyGitFailure } from '../../src/statestore/git.js';

const cantRead =
  'fatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.';

describe('classifyGitFailure', () => {
  it('names the cause line, not the generic trailer git prints after it', () => {
    expect(classifyGitFailure(`Host key verification failed.\n${cantRead}`)).toEqual({
      kind: 'hostkey',
      detail: 'Host key verification failed.',
    });
    expect(
      classifyGitFailure(
        `@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@\nHost key verification failed.\n${cantRead}`,
      ).detail,
    ).toBe('Host key verification failed.');
    expect(classifyGitFailure(`git@127.0.0.1: Permission denied (publickey).\n${cantRead}`)).toEqual({
      kind: 'auth',
      detail: 'git@127.0.0.1: Permission denied (publickey).',
    });
    expect(classifyGitFailure("fatal: Authentication failed for 'http://127.0.0.1:4000/x.git/'\n")).toEqual({
      kind: 'auth',
      detail: "fatal: Authentication failed for 'http://127.0.0.1:4000/x.git/'",
    });
  });

  it('tells rejected pushes and unreachable remotes apart', () => {
    expect(
      classifyGitFailure(
        "To file:///r.git\n ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs to 'file:///r.git'",
      ).kind,
    ).toBe('rejected');
    expect(
      classifyGitFailure("fatal: unable to access 'https://nohost/x.git/': Could not resolve host: nohost")
        .kind,
    ).toBe('unreachable');
  });

  it('falls back to the last three lines', () => {
    expect(classifyGitFailure('a\nb\n\nc\nd\n')).toEqual({ kind: 'other', detail: 'b | c | d' });
  });
});
