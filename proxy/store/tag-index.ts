// Surrogate keys (cache tags) of stored responses, so that a purge by tag finds every entry that
// carries it. Tags come from response fields: Surrogate-Key (space-separated, Fastly's form) and
// Cache-Tag (comma-separated, Cloudflare's form) by default.
import type { HeaderMap } from '../types.js';

export const DEFAULT_TAG_FIELDS: readonly string[] = ['surrogate-key', 'cache-tag'];
/** Bounds, so that one response cannot make the index large. */
const MAX_TAGS_PER_ENTRY = 128;
const MAX_TAG_CHARS = 256;

const NO_TAGS: readonly string[] = Object.freeze([]);

/** The tags a response carries in the given fields (lower-case names), de-duplicated and bounded. */
export function tagsOf(headers: HeaderMap, fieldNames: readonly string[]): readonly string[] {
  // Most responses carry no tags: no set and no array for them.
  let tagged = false;
  for (const name of fieldNames) if (headers[name] !== undefined) tagged = true;
  if (!tagged) return NO_TAGS;
  const tags = new Set<string>();
  for (const name of fieldNames) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const line of typeof value === 'string' ? [value] : value) {
      for (const tag of line.split(/[\s,]+/)) {
        if (tag !== '' && tag.length <= MAX_TAG_CHARS) tags.add(tag);
        if (tags.size >= MAX_TAGS_PER_ENTRY) return [...tags];
      }
    }
  }
  return [...tags];
}

export class TagIndex {
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly tagsByKey = new Map<string, string[]>();

  /** Records the tags of a stored key, replacing what it had. */
  set(storedKey: string, tags: readonly string[]): void {
    this.forget(storedKey);
    if (tags.length === 0) return;
    this.tagsByKey.set(storedKey, [...tags]);
    for (const tag of tags) {
      let keys = this.keysByTag.get(tag);
      if (!keys) {
        keys = new Set();
        this.keysByTag.set(tag, keys);
      }
      keys.add(storedKey);
    }
  }

  keysFor(tag: string): string[] {
    return [...(this.keysByTag.get(tag) ?? [])];
  }

  forget(storedKey: string): void {
    const tags = this.tagsByKey.get(storedKey);
    if (!tags) return;
    this.tagsByKey.delete(storedKey);
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag);
      keys?.delete(storedKey);
      if (keys?.size === 0) this.keysByTag.delete(tag);
    }
  }

  get size(): { tags: number; keys: number } {
    return { tags: this.keysByTag.size, keys: this.tagsByKey.size };
  }
}
