/**
 * Text from events made safe for a mail: customer names, resource names, reasons and details are free text
 * in the contract, and events already on the topic may carry control characters (a NUL in a name made
 * PostgreSQL refuse the contact and the event was dead-lettered). Pure functions, used where text enters a
 * header, a body or the store:
 * - header fields (display names, subject): one line, control characters removed, whitespace collapsed;
 * - body text: line breaks kept (`\n`), every other control character removed except tabs;
 * - `hasControlCharacters` tells an address that can never be one mailbox.
 */

// Unicode category Cc: the C0 controls, DEL and the C1 controls.
const CONTROL = /\p{Cc}/u;
const CONTROLS = /\p{Cc}/gu;
const CONTROLS_BUT_TAB_AND_LF = /(?![\t\n])\p{Cc}/gu;

/** True when the text holds a control character (C0, DEL or C1). */
export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/**
 * One line for a header or a table cell: every run of whitespace (line breaks included) becomes one space,
 * other control characters are removed, and text longer than `max` is cut with an ellipsis.
 */
export function headerText(value: string, max = Number.POSITIVE_INFINITY): string {
  // Whitespace controls first, so `a\nb` stays two words; then the rest (NUL, ESC, …) disappears.
  const flat = value.replace(/\s+/g, ' ').replace(CONTROLS, '').replace(/ {2,}/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Text for a body: CR LF and lone CR become LF, and control characters other than LF and TAB go. */
export function bodyText(value: string): string {
  return value.replace(/\r\n?/g, '\n').replace(CONTROLS_BUT_TAB_AND_LF, '');
}
