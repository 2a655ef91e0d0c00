import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';
import { eventually, uniqueName } from '../../helpers.ts';

interface MailpitSearch {
  messages: { ID: string; Subject: string; To: { Address: string }[] }[];
}

describe('smtp + mailpit smoke', () => {
  const config = loadConfig();

  it('sends one mail over SMTP and reads it back through the Mailpit API', async () => {
    const transport = nodemailer.createTransport({
      host: config.smtp.host,
      port: config.smtp.port,
      secure: false,
    });
    const recipient = `${uniqueName('smoke')}@example.test`;
    const subject = `smoke ${uniqueName('s')}`;
    await transport.sendMail({
      from: config.smtp.from,
      to: recipient,
      subject,
      text: 'hello from the smoke test',
    });
    transport.close();

    const found = await eventually(
      async () => {
        const res = await fetch(
          `${config.mailpit.url}/api/v1/search?query=${encodeURIComponent(`to:"${recipient}"`)}`,
        );
        const body = (await res.json()) as MailpitSearch;
        return body.messages.length > 0 ? body.messages : undefined;
      },
      { what: 'the mail in Mailpit' },
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.Subject).toBe(subject);
    expect(found[0]?.To[0]?.Address).toBe(recipient);
  });
});
