import type { Logger } from '@carwash/subgraph-kit';

/** One plain-text mail. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where the auth feature's mail goes. A real transport (SMTP, a provider's API) implements this; the
 * default is the development mailbox below.
 */
export interface MailSender {
  send(message: MailMessage): Promise<void>;
}

export interface StoredMail extends MailMessage {
  sentAt: Date;
}

/** Enough for a development session or a test run; the oldest mail is dropped beyond it. */
export const DEV_MAILBOX_CAPACITY = 1000;

/**
 * The default sender: writes one log line per mail. With `keepInbox` (AUTH_DEV_MAILBOX, development
 * only) the line carries the body and the mail is kept in memory for `GET /dev/mailbox`; without it the
 * body (which holds a secret link) is left out of the log and the line warns that nothing was delivered.
 */
export class DevMailbox implements MailSender {
  private readonly inbox: StoredMail[] = [];

  constructor(
    private readonly logger: Logger,
    readonly keepInbox: boolean,
  ) {}

  async send(message: MailMessage): Promise<void> {
    if (!this.keepInbox) {
      this.logger.warn(
        { to: message.to, subject: message.subject },
        'mail not delivered: no mail transport is configured',
      );
      return;
    }
    this.inbox.push({ ...message, sentAt: new Date() });
    if (this.inbox.length > DEV_MAILBOX_CAPACITY) this.inbox.shift();
    this.logger.info(
      { to: message.to, subject: message.subject, text: message.text },
      'mail (development mailbox)',
    );
  }

  /** Mail kept for an address (compared case-insensitively), newest first. */
  messagesTo(address: string): StoredMail[] {
    const wanted = address.trim().toLowerCase();
    return this.inbox.filter((m) => m.to.trim().toLowerCase() === wanted).reverse();
  }
}
