import { MANAGED_BY, MANAGED_BY_LABEL, PROMISE_NAME_LABEL } from './constants.js';
import { shortenName } from './names.js';

/** The ClusterRoleBinding of deploy/rbac/controller.yaml: its subjects are the controller's identity. */
export const CONTROLLER_BINDING = 'kratix-temporal-controller';

export interface RbacSubject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

/**
 * The ClusterRole and binding that let the controller's identity manage one Promise's Resources:
 * exactly that group and plural (with status and finalizers), labelled like every RBAC object made
 * for the Promise so the Promise delete removes them.
 */
export function resourceAccessRbac(
  promise: string,
  target: { group: string; plural: string },
  subjects: RbacSubject[],
) {
  const name = shortenName(`kratix-temporal-resources-${promise}`);
  const metadata = { name, labels: { [PROMISE_NAME_LABEL]: promise, [MANAGED_BY_LABEL]: MANAGED_BY } };
  return {
    clusterRole: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata,
      rules: [
        {
          apiGroups: [target.group],
          resources: [target.plural, `${target.plural}/status`, `${target.plural}/finalizers`],
          verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'],
        },
      ],
    },
    clusterRoleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
  };
}
