/**
 * Registers rigsweep's search attributes in the namespace when the worker starts, so no sweep's
 * workflow task fails on an unknown attribute. A locked-down cluster may refuse (no operator
 * rights): then the worker says which `temporal operator search-attribute create` lines to run.
 */
import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { RIGSWEEP_SEARCH_ATTRIBUTES } from './shared/search-attributes';

const INDEXED_TYPES: Partial<Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType>> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/** The CLI lines an operator runs by hand where the worker may not register them. */
export function searchAttributeCreateLines(namespace: string): string[] {
  return RIGSWEEP_SEARCH_ATTRIBUTES.map(
    (key) => `temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${key.type === 'INT' ? 'Int' : 'Keyword'}`,
  );
}

/** Adds the missing attributes; returns the names it added. Throws with the lines to run when refused. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const known = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = new Set([...Object.keys(known.customAttributes ?? {}), ...Object.keys(known.systemAttributes ?? {})]);
  const missing = RIGSWEEP_SEARCH_ATTRIBUTES.filter((key) => !existing.has(key.name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPES[key.type]!])),
    });
  } catch (error) {
    const lines = searchAttributeCreateLines(namespace).join('\n  ');
    throw new Error(`cannot register rigsweep's search attributes (${(error as Error).message}); run:\n  ${lines}`, { cause: error });
  }
  return missing.map((key) => key.name);
}
