import { describe, expect, it } from 'vitest';
import type { Logger } from '@carwash/subgraph-kit';
import { DevMailbox } from '../src/mail.js';

/** Records what would have been logged. */
function fakeLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) =>
    void lines.push({ level, fields, message });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger };
}

const MAIL = {
  to: 'Ada@Example.test',
  subject: 'Reset your car-wash password',
  text: 'https://app.example/reset-password?token=secret-link',
};

describe(DevMailbox.name, () => {
  it('keeps mail for the development inbox and logs it whole', async () => {
    const { lines, logger } = fakeLogger();
    const sut = new DevMailbox(logger, true);
    await sut.send(MAIL);
    await sut.send({ ...MAIL, subject: 'second' });
    expect(sut.messagesTo(' ada@example.test ').map((m) => m.subject)).toEqual(['second', MAIL.subject]);
    expect(sut.messagesTo('someone.else@example.test')).toEqual([]);
    expect(lines[0]).toMatchObject({ level: 'info', fields: { to: MAIL.to, text: MAIL.text } });
  });

  it('without the development setting, keeps nothing and never writes the secret link to the log', async () => {
    const { lines, logger } = fakeLogger();
    const sut = new DevMailbox(logger, false);
    await sut.send(MAIL);
    expect(sut.messagesTo(MAIL.to)).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(JSON.stringify(lines)).not.toContain('secret-link');
  });
});
