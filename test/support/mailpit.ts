/** Reading what the real Mailpit received, through its HTTP API (`/api/v1/search`, `/api/v1/message/{ID}`). */
import { loadConfig } from '../../common/config.ts';
import { eventually } from '../helpers.ts';

export interface MailpitSummary {
  readonly ID: string;
  readonly MessageID: string;
  readonly Subject: string;
  readonly To: readonly { readonly Name: string; readonly Address: string }[];
  readonly Created: string;
}

export interface MailpitMessage extends MailpitSummary {
  readonly From: { readonly Name: string; readonly Address: string };
  readonly Text: string;
  readonly HTML: string;
}

const base = () => loadConfig().mailpit.url;

/** Every message matching a Mailpit search (e.g. `to:"a@b.test"`, `message-id:"…"`), newest first. */
export async function searchMail(query: string): Promise<MailpitSummary[]> {
  const out: MailpitSummary[] = [];
  for (let start = 0; ; start += 200) {
    const res = await fetch(
      `${base()}/api/v1/search?limit=200&start=${start}&query=${encodeURIComponent(query)}`,
    );
    if (!res.ok) throw new Error(`Mailpit search answered ${res.status}`);
    const body = (await res.json()) as { messages: MailpitSummary[]; messages_count: number };
    out.push(...body.messages);
    if (body.messages.length < 200 || out.length >= body.messages_count) return out;
  }
}

/** One message in full (text and HTML bodies). */
export async function readMail(id: string): Promise<MailpitMessage> {
  const res = await fetch(`${base()}/api/v1/message/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`Mailpit message ${id} answered ${res.status}`);
  return (await res.json()) as MailpitMessage;
}

/** Messages to an address (Mailpit's To search). */
export function mailTo(address: string): Promise<MailpitSummary[]> {
  return searchMail(`to:"${address}"`);
}

/** Messages with a Message-ID (without the angle brackets). */
export function mailWithMessageId(messageId: string): Promise<MailpitSummary[]> {
  return searchMail(`message-id:"${messageId.replace(/^<|>$/g, '')}"`);
}

/** Waits until `count` messages to `address` have arrived; returns them in full, in arrival order. */
export async function waitForMail(
  address: string,
  count: number,
  { timeoutMs = 30_000, what = `${count} mail(s) to ${address}` } = {},
): Promise<MailpitMessage[]> {
  const found = await eventually(
    async () => {
      const mails = await mailTo(address);
      return mails.length >= count ? mails : undefined;
    },
    { timeoutMs, intervalMs: 200, what },
  );
  // Mailpit lists newest first and stamps arrivals to the millisecond: mails a few hundred microseconds
  // apart share a stamp, and then its list (newest stored first) is the only order left. Reversed, it is
  // oldest first; the stable sort keeps that order among equal stamps.
  const ordered = [...found].reverse().sort((a, b) => a.Created.localeCompare(b.Created));
  return Promise.all(ordered.map((m) => readMail(m.ID)));
}

/**
 * Deletes the messages matching a Mailpit search (`DELETE /api/v1/search`). Mailpit is shared by every
 * suite and engineer: pass a query only your own messages match (a recipient domain of your own).
 */
export async function deleteMail(query: string): Promise<void> {
  if (!query.trim()) throw new Error('deleteMail needs a query: an empty one would delete every message');
  const res = await fetch(`${base()}/api/v1/search?query=${encodeURIComponent(query)}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`Mailpit delete answered ${res.status}`);
}

/** How many messages Mailpit holds (it keeps at most its `--max`, dropping the oldest). */
export async function mailCount(): Promise<number> {
  const res = await fetch(`${base()}/api/v1/info`);
  if (!res.ok) throw new Error(`Mailpit info answered ${res.status}`);
  return ((await res.json()) as { Messages: number }).Messages;
}
