/** Whether a string holds a control character (U+0000–U+001F): names, filters and the like must not. */
export function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20) return true;
  return false;
}

/** A value as text for comparing: strings as they are, anything else as JSON (so an object is not "[object Object]"). */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}
