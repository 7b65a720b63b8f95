/**
 * What one GraphQL request may ask for. The views are flat and their lists
 * bounded (1,000 rows at most), so what costs is breadth: aliases repeat a
 * list as often as a request names it. Validation refuses, before anything
 * runs:
 * - selections deeper than 8 levels, or lists in lists in lists;
 * - more than 20 fields at the top of an operation;
 * - more than 300 fields in the whole document.
 * Each request also runs under a statement timeout (preset.ts).
 */
import { depthLimit } from '@graphile/depth-limit';
import type {} from 'postgraphile';
import { GraphQLError, Kind, type ASTVisitor, type ValidationContext } from 'postgraphile/graphql';

export const LIMITS = { maxDepth: 8, maxListDepth: 2, maxRootFields: 20, maxFields: 300 } as const;

/** Counts fields: at the top of each operation, and in the whole document (fragments included). */
export function breadthLimit(maxRootFields: number, maxFields: number) {
  return (context: ValidationContext): ASTVisitor => {
    let fields = 0;
    return {
      OperationDefinition(node) {
        const roots = node.selectionSet.selections.filter((s) => s.kind === Kind.FIELD).length;
        if (roots > maxRootFields) {
          context.reportError(
            new GraphQLError(
              `a request may ask for at most ${maxRootFields} fields at its top level, this one asks for ${roots}`,
              { nodes: [node] },
            ),
          );
        }
      },
      Field(node) {
        fields++;
        if (fields === maxFields + 1) {
          context.reportError(
            new GraphQLError(`a request may name at most ${maxFields} fields, this one names more`, { nodes: [node] }),
          );
        }
      },
    };
  };
}

export const LimitsPlugin: GraphileConfig.Plugin = {
  name: 'BuyerSyncLimitsPlugin',
  version: '1.0.0',
  grafserv: {
    middleware: {
      setPreset(next, event) {
        event.validationRules.push(
          depthLimit({
            maxDepth: LIMITS.maxDepth,
            maxListDepth: LIMITS.maxListDepth,
            maxIntrospectionDepth: 16,
            maxIntrospectionListDepth: 6,
          }),
          breadthLimit(LIMITS.maxRootFields, LIMITS.maxFields),
        );
        return next();
      },
    },
  },
};
