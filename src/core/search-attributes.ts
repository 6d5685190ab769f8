import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { WorkflowAction } from './types.js';

/** Custom search attributes on every kratix-temporal workflow (DESIGN §4), Keyword typed. */
export const SA = {
  promise: defineSearchAttributeKey('KratixPromise', SearchAttributeType.KEYWORD),
  resourceNamespace: defineSearchAttributeKey('KratixResourceNamespace', SearchAttributeType.KEYWORD),
  resourceName: defineSearchAttributeKey('KratixResourceName', SearchAttributeType.KEYWORD),
  workflowType: defineSearchAttributeKey('KratixWorkflowType', SearchAttributeType.KEYWORD),
  workflowAction: defineSearchAttributeKey('KratixWorkflowAction', SearchAttributeType.KEYWORD),
  /**
   * "failed" on a lifecycle while its last configure run failed (absent otherwise): the Web UI
   * filter for failing objects, since runs inside a lifecycle do not fail its execution.
   */
  runStatus: defineSearchAttributeKey('KratixRunStatus', SearchAttributeType.KEYWORD),
} as const;

/** The KratixRunStatus value of a lifecycle whose last run failed. */
export const RUN_FAILED = 'failed';

export const SEARCH_ATTRIBUTE_NAMES: string[] = Object.values(SA).map((k) => k.name);

/**
 * The search attributes of a workflow about an object: its Promise, for Resources their namespace
 * and name, whether it is a Promise or Resource workflow, and the action.
 */
export function searchAttributesFor(
  subject: { promise: string } | { promise: string; namespace: string; name: string },
  action: WorkflowAction,
): SearchAttributePair[] {
  const resource = 'namespace' in subject;
  return [
    { key: SA.promise, value: subject.promise },
    ...(resource
      ? [
          { key: SA.resourceNamespace, value: subject.namespace },
          { key: SA.resourceName, value: subject.name },
        ]
      : []),
    { key: SA.workflowType, value: resource ? 'resource' : 'promise' },
    { key: SA.workflowAction, value: action },
  ];
}
