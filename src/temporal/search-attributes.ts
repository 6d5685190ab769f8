import proto from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../core/search-attributes.js';

/**
 * Registers kratix-temporal's Keyword search attributes in a Temporal namespace where missing
 * (the dev server gets them as start flags; any other server needs this once). Returns the names
 * it added. Fails with a message naming the attributes when the server refuses (e.g. no operator
 * permission): every workflow start would fail without them.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !have.has(n));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((n) => [n, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  } catch (err) {
    throw new Error(
      `Temporal namespace "${namespace}" lacks the search attributes ${missing.join(', ')} and adding them failed ` +
        `(${(err as Error).message}). Add them as Keyword attributes (temporal operator search-attribute create ` +
        `--namespace ${namespace} --name <name> --type Keyword), then start again.`,
    );
  }
  return missing;
}
