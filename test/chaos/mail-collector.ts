/**
 * Collects the run's mail from Mailpit's HTTP API (`/api/v1/search`), every couple of seconds while the run
 * goes on and once more at the end, so that mail is counted even if Mailpit prunes or someone empties it
 * meanwhile. The run's mail is found by its customers' address domain (unique per run); each stored
 * message is kept by Mailpit's own id, so two deliveries of one Message-ID count twice.
 */

/** One stored message of the run. */
export interface CollectedMail {
  /** Mailpit's id of the stored message. */
  readonly id: string;
  /** Message-ID without angle brackets, e.g. `<eventId>@slotstream.local`. */
  readonly messageId: string;
  readonly to: string;
  readonly subject: string;
  /** When Mailpit received it (ISO 8601). */
  readonly created: string;
}

interface Summary {
  readonly ID: string;
  readonly MessageID: string;
  readonly Subject: string;
  readonly Created: string;
  readonly To: readonly { readonly Address: string }[] | null;
}

const PAGE = 1_000;

export class MailCollector {
  readonly mails = new Map<string, CollectedMail>();
  /** Messages Mailpit deleted (pruned, or emptied by someone) while the run went on. */
  deletedMeanwhile = 0;
  private deletedAtStart: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  lastError: string | undefined;

  constructor(
    private readonly mailpitUrl: string,
    private readonly domain: string,
  ) {}

  async start(intervalMs = 2_000): Promise<void> {
    this.deletedAtStart = await this.deleted();
    this.timer = setInterval(() => {
      this.polling ??= this.collect()
        .catch((error: unknown) => {
          this.lastError = (error as Error).message;
        })
        .finally(() => {
          this.polling = undefined;
        });
    }, intervalMs);
  }

  /** Stops polling. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Stops polling and collects everything once more. */
  async finish(): Promise<void> {
    this.stop();
    await this.polling;
    await this.collect(true);
    const deleted = await this.deleted();
    if (deleted !== undefined && this.deletedAtStart !== undefined) {
      this.deletedMeanwhile = deleted - this.deletedAtStart;
    }
  }

  /** Reads the newest pages until one holds nothing new (or all pages, when `all`). */
  private async collect(all = false): Promise<void> {
    const query = encodeURIComponent(`to:"@${this.domain}"`);
    for (let start = 0; ; start += PAGE) {
      const res = await fetch(
        `${this.mailpitUrl}/api/v1/search?query=${query}&limit=${PAGE}&start=${start}`,
        {
          signal: AbortSignal.timeout(30_000),
        },
      );
      if (!res.ok) throw new Error(`Mailpit search answered ${res.status}`);
      const body = (await res.json()) as { messages: Summary[]; messages_count: number };
      let fresh = 0;
      for (const m of body.messages) {
        const to = m.To?.[0]?.Address ?? '';
        if (!to.endsWith(`@${this.domain}`)) continue; // the search matches substrings
        if (!this.mails.has(m.ID)) fresh += 1;
        this.mails.set(m.ID, {
          id: m.ID,
          messageId: m.MessageID,
          to,
          subject: m.Subject,
          created: m.Created,
        });
      }
      if (body.messages.length < PAGE || start + PAGE >= body.messages_count) return;
      if (!all && fresh === 0) return;
    }
  }

  private async deleted(): Promise<number | undefined> {
    try {
      const res = await fetch(`${this.mailpitUrl}/api/v1/info`, { signal: AbortSignal.timeout(5_000) });
      const info = (await res.json()) as { RuntimeStats?: { MessagesDeleted?: number } };
      return info.RuntimeStats?.MessagesDeleted;
    } catch {
      return undefined;
    }
  }
}
