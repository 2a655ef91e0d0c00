/**
 * The customer e-mails: one template per kind of notification, each rendered as a subject, a plain-text
 * body and an HTML body, in the customer's name, with the reservation's resource, period and price. Pure
 * functions of their input: no clock, no I/O. Times are shown in UTC (the contract has no customer time
 * zone); every value put into HTML is escaped, line breaks never reach a header and control characters
 * (a NUL in a customer's name) reach neither a header nor a body (./text.ts).
 */
import type { Money, ReservationRejectionReason, ReservationStatus } from '../../schemas/generated/types.ts';
import { bodyText, headerText } from './text.ts';

/** What the e-mails say about a reservation (from its newest ReservationHeld / ReservationReopened). */
export interface ReservationDetails {
  readonly reservationId: string;
  readonly customerName: string;
  readonly resourceName: string;
  /** epoch ms */
  readonly start: number;
  /** epoch ms, exclusive */
  readonly end: number;
  readonly quantity: number;
  readonly price: Money;
  /** epoch ms */
  readonly holdExpiresAt: number;
}

/** One notification to render. */
export type Notification =
  | { readonly kind: 'held'; readonly reservation: ReservationDetails }
  | { readonly kind: 'reopened'; readonly reservation: ReservationDetails }
  | {
      readonly kind: 'confirmed';
      readonly reservation: ReservationDetails;
      readonly paid: Money;
      readonly paymentReference: string | null;
    }
  | {
      readonly kind: 'payment_failed';
      readonly reservation: ReservationDetails;
      readonly failureReason: string | null;
    }
  | {
      readonly kind: 'cancelled';
      readonly reservation: ReservationDetails;
      readonly reason: string | null;
      /** The reservation had been paid: the payment sink refunds it. */
      readonly refundDue: boolean;
    }
  | { readonly kind: 'expired'; readonly reservation: ReservationDetails }
  | { readonly kind: 'completed'; readonly reservation: ReservationDetails }
  | {
      readonly kind: 'rejected';
      readonly customerName: string;
      readonly reservationId: string;
      readonly resourceId: string;
      /** The reservation, when it is the customer's own and known. */
      readonly reservation: ReservationDetails | null;
      /** Record name of the refused command. */
      readonly commandType: string;
      readonly reason: ReservationRejectionReason;
      readonly detail: string;
      readonly currentStatus: ReservationStatus | null;
    };

export type NotificationKind = Notification['kind'];

/** A rendered e-mail. */
export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

// The names exactly as the formatter writes them (en-GB: "Sept"), read from it once.
const MONTHS = Array.from({ length: 12 }, (_, m) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', month: 'short' }).format(Date.UTC(2027, m, 1)),
);
const WEEKDAYS = Array.from({ length: 7 }, (_, d) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short' }).format(Date.UTC(2027, 0, 3 + d)),
);
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * `Wed, 2 Dec 2026, 14:00 UTC`: what the en-GB formatter writes, assembled from its own names (a mail
 * formats three or four times, and Intl's format was 2% of the sink's CPU); years outside 1000–9999 are
 * left to the formatter.
 */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return `${TIME.format(d)} UTC`;
  return `${WEEKDAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${year}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** One formatter per currency code: building an Intl.NumberFormat costs more than rendering a whole mail. */
const MONEY = new Map<string, { format: Intl.NumberFormat; digits: number } | null>();

function moneyFormat(currency: string): { format: Intl.NumberFormat; digits: number } | null {
  let cached = MONEY.get(currency);
  if (cached === undefined) {
    try {
      const format = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
      cached = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    } catch {
      cached = null; // not a currency code Intl knows
    }
    // Codes come from events: bound the cache, since any three letters pass the schema.
    if (MONEY.size < 1_000) MONEY.set(currency, cached);
  }
  return cached;
}

/** `€12.50`, from minor units and the currency's own number of decimals; `12.50 XYZ` for an unknown code. */
export function formatMoney(money: Money): string {
  const known = moneyFormat(money.currency);
  if (known) return known.format.format(money.amountMinor / 10 ** known.digits);
  return `${(money.amountMinor / 100).toFixed(2)} ${headerText(money.currency)}`;
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** One line for a subject: whitespace collapsed, control characters removed, at most `max` characters. */
function oneLine(value: string, max = 120): string {
  return headerText(value, max);
}

const REASONS: Record<ReservationRejectionReason, string> = {
  UNAVAILABLE: 'there is not enough availability left for that period',
  UNKNOWN_RESOURCE: 'we could not find what you tried to book',
  RESOURCE_RETIRED: 'it is no longer offered',
  INVALID_RANGE: 'the period is not valid (it may have ended already)',
  INVALID_QUANTITY: 'the quantity is not valid',
  ILLEGAL_TRANSITION: 'the reservation is not in a state that allows it',
  UNKNOWN_RESERVATION: 'we could not find that reservation',
  NOT_OWNER: 'that reservation belongs to another account',
  DUPLICATE: 'the same request was already received',
  AMOUNT_MISMATCH: 'the amount paid did not match the price',
  OTHER: 'we could not accept it',
};

const STATUS_WORDS: Record<ReservationStatus, string> = {
  Pending: 'waiting for payment',
  Confirmed: 'confirmed',
  Cancelled: 'cancelled',
  Expired: 'expired',
  Completed: 'completed',
};

/** The human reason of a refusal: what it means for the customer, then our system's own words. */
export function humanReason(
  reason: ReservationRejectionReason,
  currentStatus: ReservationStatus | null,
): string {
  if (reason === 'ILLEGAL_TRANSITION' && currentStatus) {
    return `the reservation is ${STATUS_WORDS[currentStatus]}, which does not allow it`;
  }
  return REASONS[reason] ?? REASONS.OTHER;
}

const REQUESTS: Record<string, string> = {
  RequestReservation: 'your reservation request',
  CancelReservation: 'your request to cancel',
  ReopenReservation: 'your request to reopen',
};

/** A paragraph of text; `html` escapes it, `text` keeps it. */
interface Block {
  readonly text: string;
  /** Label/value rows shown as a table in HTML. */
  readonly rows?: readonly (readonly [string, string])[];
}

function detailsRows(r: ReservationDetails, priceLabel = 'Price'): (readonly [string, string])[] {
  return [
    ['What', r.resourceName],
    ['From', formatTime(r.start)],
    ['Until', formatTime(r.end)],
    ['Quantity', String(r.quantity)],
    [priceLabel, formatMoney(r.price)],
    ['Reservation', r.reservationId],
  ];
}

/**
 * The mail from its parts. Every piece of text passes here: paragraphs keep their line breaks and lose
 * other control characters, the greeting and table cells are one line, the subject is one short line, and
 * HTML gets the same text escaped.
 */
function compose(subject: string, greetingName: string, blocks: readonly Block[]): RenderedMail {
  const name = headerText(greetingName);
  const textParts = [`Hello ${name},`];
  const htmlParts = [`<p>Hello ${escapeHtml(name)},</p>`];
  for (const block of blocks) {
    const paragraph = bodyText(block.text);
    if (paragraph) {
      textParts.push(paragraph);
      htmlParts.push(`<p>${escapeHtml(paragraph)}</p>`);
    }
    if (block.rows) {
      const rows = block.rows.map(([label, value]) => [headerText(label), headerText(value)] as const);
      const width = Math.max(...rows.map(([label]) => label.length));
      textParts.push(rows.map(([label, value]) => `  ${`${label}:`.padEnd(width + 2)}${value}`).join('\n'));
      htmlParts.push(
        `<table role="presentation" cellpadding="4">${rows
          .map(
            ([label, value]) =>
              `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
          )
          .join('')}</table>`,
      );
    }
  }
  textParts.push('Slotstream');
  htmlParts.push('<p>Slotstream</p>');
  const safeSubject = oneLine(subject, 200);
  return {
    subject: safeSubject,
    text: `${textParts.join('\n\n')}\n`,
    html: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(safeSubject)}</title></head><body>${htmlParts.join('\n')}</body></html>\n`,
  };
}

/** Renders one notification. */
export function render(n: Notification): RenderedMail {
  switch (n.kind) {
    case 'held':
    case 'reopened': {
      const r = n.reservation;
      const deadline = formatTime(r.holdExpiresAt);
      const what = oneLine(r.resourceName);
      return compose(
        `${n.kind === 'held' ? 'Reservation held' : 'Reservation reopened'}: ${what}, please pay by ${deadline}`,
        r.customerName,
        [
          {
            text:
              n.kind === 'held'
                ? `We are holding your reservation of ${r.resourceName}. It is not confirmed yet: the payment of ${formatMoney(r.price)} must arrive by ${deadline}, or the hold is released.`
                : `Your reservation of ${r.resourceName} is held again. It is not confirmed yet: the payment of ${formatMoney(r.price)} must arrive by ${deadline}, or the hold is released.`,
            rows: [...detailsRows(r), ['Pay by', deadline]],
          },
        ],
      );
    }
    case 'confirmed': {
      const r = n.reservation;
      const rows = detailsRows({ ...r, price: n.paid }, 'Paid');
      if (n.paymentReference) rows.push(['Payment', n.paymentReference]);
      return compose(
        `Reservation confirmed: ${oneLine(r.resourceName)}, ${formatTime(r.start)}`,
        r.customerName,
        [
          {
            text: `Your payment of ${formatMoney(n.paid)} was received and your reservation is confirmed.`,
            rows,
          },
        ],
      );
    }
    case 'payment_failed': {
      const r = n.reservation;
      return compose(`Payment failed: ${oneLine(r.resourceName)}, your hold was released`, r.customerName, [
        {
          text: `We could not take the payment of ${formatMoney(r.price)} for your reservation of ${r.resourceName}${
            n.failureReason ? ` (${n.failureReason})` : ''
          }, so the hold was released. You can reopen the reservation to try again while it is still available.`,
          rows: detailsRows(r),
        },
      ]);
    }
    case 'cancelled': {
      const r = n.reservation;
      const refund = n.refundDue
        ? ` Your payment of ${formatMoney(r.price)} will be refunded to the card you paid with.`
        : '';
      return compose(
        `Reservation cancelled: ${oneLine(r.resourceName)}, ${formatTime(r.start)}`,
        r.customerName,
        [
          {
            text: `Your reservation of ${r.resourceName} was cancelled${n.reason ? ` (${n.reason})` : ''}.${refund}`,
            rows: detailsRows(r),
          },
        ],
      );
    }
    case 'expired': {
      const r = n.reservation;
      return compose(`Reservation expired: ${oneLine(r.resourceName)}, not paid in time`, r.customerName, [
        {
          text: `The payment for your reservation of ${r.resourceName} did not arrive by ${formatTime(r.holdExpiresAt)}, so the hold was released.`,
          rows: detailsRows(r),
        },
      ]);
    }
    case 'completed': {
      const r = n.reservation;
      return compose(`Reservation completed: ${oneLine(r.resourceName)}`, r.customerName, [
        {
          text: `Your reservation of ${r.resourceName} has ended. Thank you for booking with us.`,
          rows: detailsRows(r),
        },
      ]);
    }
    case 'rejected': {
      const what = n.reservation ? n.reservation.resourceName : `resource ${n.resourceId}`;
      const request = REQUESTS[n.commandType] ?? 'your request';
      const reason = humanReason(n.reason, n.currentStatus);
      const rows: (readonly [string, string])[] = n.reservation
        ? detailsRows(n.reservation)
        : [
            ['What', what],
            ['Reservation', n.reservationId],
          ];
      rows.push(['Reason', `${reason} (${n.detail})`]);
      return compose(
        `${n.commandType === 'RequestReservation' ? 'Reservation not possible' : 'Request not possible'}: ${oneLine(what)}`,
        n.customerName,
        [{ text: `We could not accept ${request} for ${what}: ${reason}.`, rows }],
      );
    }
  }
}
