import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes on every kratix-temporal workflow (DESIGN §4), Keyword typed. */
export const SA = {
  promise: defineSearchAttributeKey('KratixPromise', SearchAttributeType.KEYWORD),
  resourceNamespace: defineSearchAttributeKey('KratixResourceNamespace', SearchAttributeType.KEYWORD),
  resourceName: defineSearchAttributeKey('KratixResourceName', SearchAttributeType.KEYWORD),
  workflowType: defineSearchAttributeKey('KratixWorkflowType', SearchAttributeType.KEYWORD),
  workflowAction: defineSearchAttributeKey('KratixWorkflowAction', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_NAMES: string[] = Object.values(SA).map((k) => k.name);
