/**
 * Names that read well for a schema of views: a view's list is the view's
 * own name (`alerts`, `recentRuns`, not `allAlertsList`), and a column
 * called id stays `id` (there are no global node ids to clash with).
 */
import type {} from 'postgraphile';

export const ApiInflectionPlugin: GraphileConfig.Plugin = {
  name: 'BuyerSyncApiInflectionPlugin',
  version: '1.0.0',
  inflection: {
    replace: {
      allRowsList(_previous, _options, resource) {
        return this.camelCase(this._resourceName(resource));
      },
      _attributeName(previous, _options, details) {
        return previous!({ ...details, skipRowId: true });
      },
    },
  },
};
